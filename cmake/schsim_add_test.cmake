# schsim_add_test_dir(NAME <exe> DIR <dir> LIBS <libs...> [SERIAL])
# Builds every <dir>/*_test.cpp into one GoogleTest executable and registers each TEST with ctest.
# One executable per component keeps link time low on a 2-core machine; tests stay separate in
# ctest because gtest_discover_tests lists them one by one.
function(schsim_add_test_dir)
  cmake_parse_arguments(ARG "SERIAL" "NAME;DIR" "LIBS" ${ARGN})
  file(GLOB test_sources CONFIGURE_DEPENDS ${ARG_DIR}/*_test.cpp)
  if(NOT test_sources)
    return()
  endif()
  file(GLOB support_sources CONFIGURE_DEPENDS ${ARG_DIR}/support/*.cpp)
  add_executable(${ARG_NAME} ${test_sources} ${support_sources})
  schsim_warnings(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${ARG_NAME} PRIVATE
    SCHSIM_SOURCE_DIR="${PROJECT_SOURCE_DIR}" SCHSIM_BINARY_DIR="${PROJECT_BINARY_DIR}")
  # PRE_TEST discovery: listing happens when ctest runs, so a crashing test binary fails the test
  # run with its output instead of failing the build.
  # SERIAL: tests on real sockets that measure timing run alone, so the other ctest job cannot
  # steal the core they need to meet a millisecond bound on a 2-core machine.
  set(serial FALSE)
  if(ARG_SERIAL)
    set(serial TRUE)
  endif()
  # LABELS: the executable's name, so a run can pick whole executables (`ctest -L`): the TSan
  # stage runs only those that start threads.
  gtest_discover_tests(${ARG_NAME} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       PROPERTIES TIMEOUT 300 RUN_SERIAL ${serial} LABELS ${ARG_NAME})
endfunction()
