xport_add_test(test_local SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_local.c
               ${CMAKE_CURRENT_LIST_DIR}/gen_layout.c LABELS local)
xport_add_test(test_cli SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli.c
               ${CMAKE_CURRENT_LIST_DIR}/gen_layout.c LABELS cli)
