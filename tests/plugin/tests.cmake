# Plugins live in their own folder so XPORT_PLUGIN_PATH can point at it.
add_library(xport_fake_plugin MODULE ${CMAKE_CURRENT_LIST_DIR}/fake_plugin.c)
add_library(xport_badabi_plugin MODULE ${CMAKE_CURRENT_LIST_DIR}/fake_plugin.c)
target_compile_definitions(xport_badabi_plugin PRIVATE FAKE_ABI=99 FAKE_NAME="badabi")
foreach(t xport_fake_plugin xport_badabi_plugin)
  target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/include)
  set_target_properties(${t} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY
                        ${CMAKE_BINARY_DIR}/tests/plugins)
endforeach()
add_test(NAME plugins COMMAND sh -c
  "d=$(mktemp -d) && out=$(XPORT_PLUGIN_PATH=${CMAKE_BINARY_DIR}/tests/plugins:/nonexistent $<TARGET_FILE:xport> adapters 2>&1) && echo \"$out\" && echo \"$out\" | grep -q '^fake  *read' && echo \"$out\" | grep -q 'built for adapter ABI 99' && ! echo \"$out\" | grep -q '^badabi' && XPORT_PLUGIN_PATH=${CMAKE_BINARY_DIR}/tests/plugins $<TARGET_FILE:xport> copy -q --opt fake:greeting=hi fake:fakews $d/out 2>/dev/null && bad=$(XPORT_PLUGIN_PATH=${CMAKE_BINARY_DIR}/tests/plugins $<TARGET_FILE:xport> copy -q --opt fake:nonsense=1 fake:fakews $d/o2 2>&1; echo \"exit $?\") && echo \"$bad\" | grep -q 'exit 2' && echo \"$bad\" | grep -q \"'nonsense' is not an option of adapter 'fake'\" && grep -q '\"value\":0.75' $d/out/fakews/fakeproj/fake-run/metrics/acc/data.jsonl; r=$?; rm -rf $d; exit $r")
set_tests_properties(plugins PROPERTIES LABELS cli TIMEOUT 60)
add_dependencies(xport xport_fake_plugin xport_badabi_plugin)
# Live progress under a pseudo-terminal, TERM=dumb and --json (issue 18),
# through the fake plugin's gate.
add_test(NAME progress COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/cli/test_progress.py
         $<TARGET_FILE:xport> ${CMAKE_BINARY_DIR}/tests/plugins)
set_tests_properties(progress PROPERTIES LABELS cli TIMEOUT 120)
