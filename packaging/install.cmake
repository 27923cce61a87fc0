# Install rules and a Debian package for cachet, laid out like Debian's memcached package.
# Included from the top-level CMakeLists.txt after src/ (which defines the `cachet` target):
#
#   include(packaging/install.cmake)
#
# Then, for example:
#   cmake --install build --prefix /usr                      # onto this machine
#   DESTDIR=/tmp/root cmake --install build --prefix /usr    # into a staging root
#   cd build && cpack                                        # build/cachet_0.1.0_amd64.deb
#
# With --prefix /usr (or /) the result is:
#   /usr/bin/cachet                              the server (memcached is /usr/bin/memcached too)
#   /usr/lib/cachet/cachet-wrapper               conf file -> command line, execs the server
#   /usr/lib/systemd/system/cachet.service       the service (memcached.service's hardening)
#   /etc/cachet.conf                             the service's options
#   /usr/lib/sysusers.d/cachet.conf              the cachet system user
#   /usr/lib/tmpfiles.d/cachet.conf              /run/cachet, owned by cachet
#   /usr/share/man/man1/cachet.1                 the man page
#   /usr/share/doc/cachet/README.md
# The unit and the wrapper name /usr/bin/cachet, /usr/lib/cachet and /etc/cachet.conf: the
# service files are meant for prefix /usr (the binary itself installs anywhere).

include(GNUInstallDirs)

set(CACHET_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})

install(TARGETS cachet RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Debian's private-executable directory is /usr/lib/<package> (not the multiarch libdir).
install(PROGRAMS ${CACHET_PACKAGING_DIR}/cachet-wrapper DESTINATION lib/cachet)

install(FILES ${CACHET_PACKAGING_DIR}/cachet.service DESTINATION lib/systemd/system)
install(FILES ${CACHET_PACKAGING_DIR}/cachet.sysusers DESTINATION lib/sysusers.d
        RENAME cachet.conf)
install(FILES ${CACHET_PACKAGING_DIR}/cachet.tmpfiles DESTINATION lib/tmpfiles.d
        RENAME cachet.conf)
# Uncompressed: man(1) reads it either way; a Debian build would gzip -9n it (dh_compress).
install(FILES ${CACHET_PACKAGING_DIR}/cachet.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The conf file goes to /etc when the prefix is /usr or / (decided at install time, so
# `cmake --install --prefix /usr` works on a tree configured for /usr/local), else to
# <prefix>/etc. An existing file is kept: it holds the administrator's settings (the .deb
# marks it a conffile, so dpkg asks instead).
install(CODE "set(_cachet_conf_source \"${CACHET_PACKAGING_DIR}/cachet.conf\")")
install(CODE [[
  if(CMAKE_INSTALL_PREFIX MATCHES "^/(usr/?)?$")
    set(_cachet_etc "/etc")
  else()
    set(_cachet_etc "${CMAKE_INSTALL_PREFIX}/etc")
  endif()
  if(EXISTS "$ENV{DESTDIR}${_cachet_etc}/cachet.conf")
    message(STATUS "Keeping existing: $ENV{DESTDIR}${_cachet_etc}/cachet.conf")
  else()
    file(INSTALL DESTINATION "${_cachet_etc}" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
         FILES "${_cachet_conf_source}")
  endif()
]])

# --- Debian package (cpack -G DEB) -------------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "cachet")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "memcached-compatible in-memory cache server")
set(CPACK_PACKAGE_DESCRIPTION
    "cachet speaks memcached 1.6.18's text, meta and binary protocols byte for byte and \
accepts its command line, so clients and tools work unchanged; it stores about twice as many \
small items in the same memory. Runs as the cachet user under systemd, configured by \
/etc/cachet.conf (memcached.conf syntax).")
set(CPACK_PACKAGE_CONTACT "cachet maintainers <cachet@localhost>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION "web")            # memcached's section
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")          # cachet_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libgcc-s1, libstdc++6 (>= 12), libxxhash0, libisal2")
find_program(CACHET_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(CACHET_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)           # adds the exact versions the binary needs
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libmemcached-tools")
# Install with DESTDIR=<staging> and prefix /usr (whatever the build's CMAKE_INSTALL_PREFIX),
# so the conf file rule above sees /usr and puts cachet.conf in /etc.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
# postinst: create the user (systemd-sysusers, else adduser) and /run/cachet, enable and start
# the service; prerm: stop it; postrm: on purge, remove the log. conffiles: /etc/cachet.conf.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CACHET_PACKAGING_DIR}/debian/postinst;${CACHET_PACKAGING_DIR}/debian/prerm;\
${CACHET_PACKAGING_DIR}/debian/postrm;${CACHET_PACKAGING_DIR}/debian/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
