# The Comet adapters (cometx folders, comet-offline archives).
xport_add_test(test_cometx
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cometx.c
                       ${CMAKE_CURRENT_LIST_DIR}/ctest.c
               LABELS comet)
xport_add_test(test_comet_offline
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_comet_offline.c
                       ${CMAKE_CURRENT_LIST_DIR}/ctest.c
               LABELS comet)
# The comet adapter (a Comet server over REST v2) against the Comet emulator.
xport_add_test(test_comet_api
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_comet_api.c
               LABELS comet)
