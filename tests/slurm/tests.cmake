# Issue 17 §4: the Slurm example run by a one-node Slurm cluster started by
# the test (needs root and Debian's Slurm packages, else skipped with the
# reason), and the Kubernetes example checked against the Job schema and run
# pod by pod (needs the npm packages of tests/node, else skipped).
add_test(NAME slurm COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_slurm.sh
         $<TARGET_FILE:xport> $<TARGET_FILE:xport-test-gen>)
set_tests_properties(slurm PROPERTIES LABELS sched SKIP_RETURN_CODE 77 TIMEOUT 300)
add_test(NAME k8s_examples COMMAND node ${CMAKE_SOURCE_DIR}/tests/k8s/check_k8s.mjs
         ${CMAKE_SOURCE_DIR}/tests/node ${CMAKE_SOURCE_DIR}/examples/k8s
         $<TARGET_FILE:xport> $<TARGET_FILE:xport-test-gen>)
set_tests_properties(k8s_examples PROPERTIES LABELS sched SKIP_RETURN_CODE 77 TIMEOUT 120)
