# Sourced by build.sh and sanitize.sh: the cmake arguments that SCHSIM_CI_BUILD selects
# (see build.sh). Sets schsim_build_flags (for the optimised tree) and schsim_debug_level.
if [[ ${SCHSIM_CI_BUILD:-0} = 1 ]]; then
  # Batches of 16: larger ones save little more and lengthen the longest translation unit,
  # which is what the 2-core build waits on at the end.
  schsim_build_flags=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")
  schsim_debug_level=-g1
else
  schsim_build_flags=(-DCMAKE_UNITY_BUILD=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g -DNDEBUG")
  schsim_debug_level=-g
fi
