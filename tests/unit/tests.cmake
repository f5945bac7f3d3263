xport_add_test(test_core SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core.c LABELS unit)
xport_add_test(test_engine SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_engine.c LABELS unit)
