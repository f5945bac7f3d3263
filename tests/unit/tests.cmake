xport_add_test(test_core SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core.c LABELS unit)
xport_add_test(test_engine SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_engine.c LABELS unit)
# The protobuf wire walker (core/pb.c).
xport_add_test(test_pb SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pb.c LABELS unit)
# The zip reader and writer (core/zip.c), with hostile archives.
xport_add_test(test_zip SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_zip.c LABELS unit)
# The shared text decoders: ISO-8601 times and strict integers.
xport_add_test(test_parse SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_parse.c LABELS unit)
# The Parquet reader (core/parquet_*.c) on files of real writers.
xport_add_test(test_parquet SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_parquet.c LABELS unit)
