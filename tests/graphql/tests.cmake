# The shared GraphQL client against tests/servers/gqlserver.py (loopback only).
xport_add_test(test_graphql SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_graphql.c
               LABELS graphql)
