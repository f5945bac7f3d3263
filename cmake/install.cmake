# What `cmake --install` puts where, and the Debian package (`cpack -G DEB`):
# the program, the public headers and pkg-config file for plugin authors,
# man pages and shell completion printed by the built xport from its option
# tables (cmake/gen_docs.cmake), and the documentation.
include(GNUInstallDirs)

set(XPORT_DOC_DIR ${CMAKE_BINARY_DIR}/doc)
add_custom_command(OUTPUT ${XPORT_DOC_DIR}/stamp
  COMMAND ${CMAKE_COMMAND} -DXPORT=$<TARGET_FILE:xport> -DOUT=${XPORT_DOC_DIR}
          -P ${CMAKE_SOURCE_DIR}/cmake/gen_docs.cmake
  DEPENDS xport ${CMAKE_SOURCE_DIR}/cmake/gen_docs.cmake
  COMMENT "Printing man pages and shell completion from the option tables"
  VERBATIM)
add_custom_target(xport_docs ALL DEPENDS ${XPORT_DOC_DIR}/stamp)

install(TARGETS xport RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/xport
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

# the .pc finds its prefix from where it lies, so one file serves any
# --prefix and the package
set(pcdir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
string(REGEX REPLACE "[^/]+" ".." XPORT_PC_TO_PREFIX "${pcdir}") # lib/pkgconfig: ../..
configure_file(${CMAKE_SOURCE_DIR}/cmake/xport.pc.in ${CMAKE_BINARY_DIR}/xport.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/xport.pc DESTINATION ${pcdir})

install(DIRECTORY ${XPORT_DOC_DIR}/man1 DESTINATION ${CMAKE_INSTALL_MANDIR})
install(FILES ${XPORT_DOC_DIR}/bash/xport
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${XPORT_DOC_DIR}/zsh/_xport
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/exit-codes.md
              ${CMAKE_SOURCE_DIR}/docs/cli.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/schemas DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/examples/plugin
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# One package; its Depends are what dpkg-shlibdeps finds the installed
# binary linked against (the runtime libraries, never -dev packages).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME xport)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "move ML experiment-tracking data between vendors without losing any of it")
set(CPACK_PACKAGE_CONTACT "xport developers")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES OFF)
include(CPack)
