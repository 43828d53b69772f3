# Strict warnings for our own code (see docs/style in shared design notes).
set(RX_WARNINGS
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
  -Wpointer-arith -Wformat=2 -Wundef -Wcast-qual -Wno-unused-parameter)
if(RX_WERROR)
  list(APPEND RX_WARNINGS -Werror)
endif()
add_compile_options(${RX_WARNINGS})
add_compile_definitions(_GNU_SOURCE RX_VERSION="${PROJECT_VERSION}")

if(RX_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(RX_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RX_FUZZ needs clang (CC=clang)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
