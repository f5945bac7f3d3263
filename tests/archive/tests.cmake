find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBARCHIVE_T REQUIRED IMPORTED_TARGET libarchive)
xport_add_test(test_archive SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_archive.c
               ${CMAKE_SOURCE_DIR}/tests/local/gen_layout.c LABELS local archive)
target_include_directories(test_archive PRIVATE ${CMAKE_SOURCE_DIR}/tests/local)
target_link_libraries(test_archive PRIVATE PkgConfig::LIBARCHIVE_T)
