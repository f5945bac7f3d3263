xport_add_test(test_local SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_local.c
               ${CMAKE_CURRENT_LIST_DIR}/gen_layout.c LABELS local)
xport_add_test(test_cli SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli.c
               ${CMAKE_CURRENT_LIST_DIR}/gen_layout.c LABELS cli)
add_executable(xport-test-gen ${CMAKE_CURRENT_LIST_DIR}/gen_main.c ${CMAKE_CURRENT_LIST_DIR}/gen_layout.c)
target_link_libraries(xport-test-gen PRIVATE xportlib)
add_test(NAME layout_schemas COMMAND sh -c
  "d=$(mktemp -d) && $<TARGET_FILE:xport-test-gen> $d/l && $<TARGET_FILE:xport> copy -q ${CMAKE_SOURCE_DIR}/tests/fixtures/mldash/v0.6.27-local-store $d/l >/dev/null && $<TARGET_FILE:xport> copy -q ${CMAKE_SOURCE_DIR}/tests/fixtures/mldash/v0.5.9-local-store $d/l >/dev/null && ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/check_schemas.py ${CMAKE_SOURCE_DIR}/schemas $d/l; r=$?; rm -rf $d; exit $r")
set_tests_properties(layout_schemas PROPERTIES LABELS local TIMEOUT 120)
xport_add_test(test_journal SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_journal.c
               ${CMAKE_CURRENT_LIST_DIR}/gen_layout.c LABELS local mldash)
xport_add_test(test_shard SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shard.c
               ${CMAKE_CURRENT_LIST_DIR}/gen_layout.c LABELS local cli)
