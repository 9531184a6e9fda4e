# Runs `schsim matrix` end to end: the reference client and the reference client with a
# deliberate bug, over two scenarios, held to BASELINE. Expects exit code EXPECT_RC, and checks
# what the reports say about each cell.
#   cmake -DSCHSIM=... -DDRIVER=... -DSCENARIOS=... -DBASELINE=... -DOUT=... -DEXPECT_RC=0|1 -P
file(REMOVE_RECURSE ${OUT})
execute_process(
  COMMAND ${SCHSIM} matrix --client reference "--client" "no-relax=${DRIVER} --broken=no-relax"
          --dir ${SCENARIOS} -f migrating-latency -f notification-moving -j 2 -o ${OUT}
          --baseline ${BASELINE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL EXPECT_RC)
  message(FATAL_ERROR "schsim matrix: exit ${rc}, expected ${EXPECT_RC}\n${out}${err}")
endif()
foreach(f index.html matrix.json matrix.xml)
  if(NOT EXISTS ${OUT}/${f})
    message(FATAL_ERROR "schsim matrix wrote no ${OUT}/${f}\n${out}${err}")
  endif()
endforeach()
file(READ ${OUT}/matrix.json json)
string(JSON nclients LENGTH "${json}" clients)
if(NOT nclients EQUAL 2)
  message(FATAL_ERROR "matrix.json: ${nclients} clients, expected 2\n${json}")
endif()
# The broken client's migrating-latency cell failed on timeout_relaxation; every other cell passed.
foreach(i RANGE 1)
  string(JSON name GET "${json}" clients ${i} name)
  foreach(scenario migrating-latency notification-moving)
    string(JSON verdict GET "${json}" clients ${i} cells ${scenario} verdict)
    set(expected pass)
    if(name STREQUAL "no-relax" AND scenario STREQUAL "migrating-latency")
      set(expected fail)
    endif()
    if(NOT verdict STREQUAL expected)
      message(FATAL_ERROR "${name} / ${scenario}: ${verdict}, expected ${expected}\n${out}")
    endif()
  endforeach()
endforeach()
if(EXPECT_RC EQUAL 1)
  string(FIND "${out}" "no-relax / migrating-latency: expected pass, got fail" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the regression was not reported:\n${out}")
  endif()
endif()
