# The fuzz targets in the suite's own build (gcc, ASan+UBSan): each target's
# committed corpus replayed, then 3 s of seeded random mutations of it
# (replay_main.c). Coverage-guided fuzzing with libFuzzer is scripts/fuzz.sh
# and bench/fuzz_all.sh; this keeps every target built and run by .ci/run.
# every tests/fuzz/fuzz_NAME.c is a target
file(GLOB xport_fuzz_sources CONFIGURE_DEPENDS RELATIVE ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_CURRENT_LIST_DIR}/fuzz_*.c)
set(XPORT_FUZZ_TARGETS)
foreach(f ${xport_fuzz_sources})
  string(REGEX REPLACE "^fuzz_(.*)\\.c$" "\\1" t ${f})
  list(APPEND XPORT_FUZZ_TARGETS ${t})
endforeach()
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/tests/fuzz-crash)
foreach(t ${XPORT_FUZZ_TARGETS})
  add_executable(fuzz_replay_${t} ${CMAKE_CURRENT_LIST_DIR}/fuzz_${t}.c
                 ${CMAKE_CURRENT_LIST_DIR}/replay_main.c)
  target_include_directories(fuzz_replay_${t} PRIVATE ${CMAKE_SOURCE_DIR}
                             ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(fuzz_replay_${t} PRIVATE xportlib)
  add_test(NAME fuzz_${t} COMMAND fuzz_replay_${t}
           ${CMAKE_CURRENT_LIST_DIR}/corpus/${t} 3)
  set_tests_properties(fuzz_${t} PROPERTIES LABELS fuzz TIMEOUT 120
                       ENVIRONMENT "FUZZ_CRASH_DIR=${CMAKE_BINARY_DIR}/tests/fuzz-crash")
endforeach()
