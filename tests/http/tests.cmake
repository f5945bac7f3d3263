# The HTTP engine against tests/servers/faultserver.py (loopback only).
xport_add_test(test_http SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http.c
               ${CMAKE_CURRENT_LIST_DIR}/http_fixture.c LABELS http)
xport_add_test(test_http_flow SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http_flow.c
               ${CMAKE_CURRENT_LIST_DIR}/http_fixture.c LABELS http)
