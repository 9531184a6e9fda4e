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

# Frame pointers for `perf record --call-graph fp` (bench/RESULTS.md profiles): costs a register
# and ~1 % of throughput, so it is off unless a profile is wanted.
option(SCHSIM_FRAME_POINTERS "Compile with -fno-omit-frame-pointer (for perf call graphs)" OFF)
if(SCHSIM_FRAME_POINTERS)
  add_compile_options(-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer)
endif()
