# The s3 adapter against s3rver (npm, installed into tests/node by
# scripts/deps.sh --tests), and SigV4 against AWS's published example.
xport_add_test(test_s3 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_s3.c
               ${CMAKE_CURRENT_LIST_DIR}/s3_fixture.c
               ${CMAKE_SOURCE_DIR}/tests/local/gen_layout.c LABELS s3)
target_include_directories(test_s3 PRIVATE ${CMAKE_SOURCE_DIR}/tests/local)
xport_add_test(test_sigv4 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sigv4.c LABELS unit s3)
# The journal of a copy into s3:// kept in the bucket: status and --resume
# from another machine (another state folder).
xport_add_test(test_s3_journal SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_s3_journal.c
               ${CMAKE_CURRENT_LIST_DIR}/s3_fixture.c
               ${CMAKE_SOURCE_DIR}/tests/local/gen_layout.c LABELS s3)
target_include_directories(test_s3_journal PRIVATE ${CMAKE_SOURCE_DIR}/tests/local)
# The journal's generation and xp_journal_adopt's rule (no server).
xport_add_test(test_journal_adopt SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_journal_adopt.c
               LABELS unit s3)
xport_add_test(test_s3_parts SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_s3_parts.c LABELS unit s3)
target_include_directories(test_s3_parts PRIVATE ${CMAKE_SOURCE_DIR}/adapters/s3)
