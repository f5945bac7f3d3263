xport_add_test(test_secrets SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_secrets.c
               ${CMAKE_SOURCE_DIR}/tests/local/gen_layout.c LABELS cli)
target_include_directories(test_secrets PRIVATE ${CMAKE_SOURCE_DIR}/tests/local)
xport_add_test(test_options SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_options.c
               ${CMAKE_SOURCE_DIR}/tests/local/gen_layout.c LABELS cli)
target_include_directories(test_options PRIVATE ${CMAKE_SOURCE_DIR}/tests/local)
xport_add_test(test_download_source SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_download_source.c
               LABELS cli mldash)
