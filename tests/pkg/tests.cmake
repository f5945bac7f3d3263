# Installing xport (issue 15): the pages and completions printed from the
# option tables agree with --help, an installed tree builds and loads the
# example plugin, and the Debian package installs and runs.
add_test(NAME pkg_docs COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/check_docs.py
  $<TARGET_FILE:xport> ${CMAKE_BINARY_DIR}/doc/man1 ${CMAKE_BINARY_DIR}/doc/bash/xport
  ${CMAKE_BINARY_DIR}/doc/zsh/_xport)
add_test(NAME pkg_install COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/install.sh ${CMAKE_BINARY_DIR})
add_test(NAME pkg_deb COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/deb.sh ${CMAKE_BINARY_DIR})
set_tests_properties(pkg_docs pkg_install pkg_deb PROPERTIES
  LABELS pkg SKIP_RETURN_CODE 77 TIMEOUT 120 ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1")
