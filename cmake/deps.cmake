# System libraries, all from Debian packages (see .ci/run for the package list).
find_package(PkgConfig REQUIRED)
pkg_check_modules(GLIB REQUIRED IMPORTED_TARGET glib-2.0)
pkg_check_modules(LIBRTMP REQUIRED IMPORTED_TARGET librtmp)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET openssl)
