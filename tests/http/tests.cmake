# The HTTP engine against tests/servers/faultserver.py (loopback only).
xport_add_test(test_http SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http.c
               LABELS http)
