# Warnings for every schsim target; applied through schsim_warnings().
function(schsim_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                                           -Wimplicit-fallthrough)
  # No -Wnull-dereference: GCC 12 reports false positives inside Asio's own headers at -O2.
endfunction()

if(SCHSIM_SANITIZE)
  add_compile_options(-fsanitize=${SCHSIM_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${SCHSIM_SANITIZE})
endif()
