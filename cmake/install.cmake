# `cmake --install` and the .deb (CPack): the schsim CLI, the reference client's driver, the
# built-in scenarios and the third-party drivers' sources, laid out so an installed schsim finds
# them beside itself (apps/schsim/paths.cpp, harness find_reference_driver):
#   PREFIX/bin/schsim
#   PREFIX/libexec/schsim/schsim-refclient-driver
#   PREFIX/share/schsim/scenarios/*.toml
#   PREFIX/share/schsim/client-under-test/drivers/   (run-<name>.sh, install.sh, sources)
#   PREFIX/share/doc/schsim/                         (README and docs/)
include(GNUInstallDirs)

install(TARGETS schsim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS schsim-refclient-driver RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/schsim)
install(DIRECTORY scenarios/ DESTINATION ${CMAKE_INSTALL_DATADIR}/schsim/scenarios
        FILES_MATCHING PATTERN "*.toml")
# The drivers' sources only: install.sh's build outputs (.gitignore there) stay out, whatever the
# state of the tree the package is made from.
install(DIRECTORY client-under-test/drivers/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/schsim/client-under-test/drivers
        USE_SOURCE_PERMISSIONS
        PATTERN "bin" EXCLUDE PATTERN ".venv" EXCLUDE PATTERN "node_modules" EXCLUDE
        PATTERN "target" EXCLUDE PATTERN "__pycache__" EXCLUDE PATTERN "*.pyc" EXCLUDE)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME schsim)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Simulator and conformance harness for Redis Smart Client Handoffs")
set(CPACK_PACKAGE_CONTACT "schsim maintainers <schsim@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# The shared libraries the binaries link (libspdlog, libfmt, libssl, libstdc++) become Depends
# through dpkg-shlibdeps, so `apt-get install ./schsim_*.deb` pulls exactly those. The
# third-party drivers need their languages only when one is asked for: Suggests.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "golang-go, python3-venv, nodejs, npm, maven, default-jdk-headless")
include(CPack)
