xport_add_test(test_core SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core.c LABELS unit)
# The protobuf wire walker (core/pb.c).
xport_add_test(test_pb SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pb.c LABELS unit)
