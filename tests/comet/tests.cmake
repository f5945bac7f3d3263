# The Comet adapters (cometx folders).
xport_add_test(test_cometx
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cometx.c
                       ${CMAKE_CURRENT_LIST_DIR}/ctest.c
               LABELS comet)
