# The s3 adapter against s3rver (npm, installed into tests/node by
# scripts/deps.sh --tests), and SigV4 against AWS's published example.
xport_add_test(test_s3 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_s3.c
               ${CMAKE_SOURCE_DIR}/tests/local/gen_layout.c LABELS s3)
target_include_directories(test_s3 PRIVATE ${CMAKE_SOURCE_DIR}/tests/local)
xport_add_test(test_sigv4 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sigv4.c LABELS unit s3)
xport_add_test(test_s3_parts SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_s3_parts.c LABELS unit s3)
target_include_directories(test_s3_parts PRIVATE ${CMAKE_SOURCE_DIR}/adapters/s3)
