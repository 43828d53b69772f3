# System libraries, all from Debian packages (see .ci/run for the package list).
find_package(PkgConfig REQUIRED)
pkg_check_modules(GLIB REQUIRED IMPORTED_TARGET glib-2.0)
pkg_check_modules(LIBRTMP REQUIRED IMPORTED_TARGET librtmp)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET openssl)
pkg_check_modules(SRTP REQUIRED IMPORTED_TARGET libsrtp2)
pkg_check_modules(STROPHE REQUIRED IMPORTED_TARGET libstrophe)
find_package(Threads REQUIRED)
pkg_check_modules(SPEEX REQUIRED IMPORTED_TARGET speex)
