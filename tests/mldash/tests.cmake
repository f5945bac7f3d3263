# ml-dash tests (label: mldash)

# --- ml-dash server emulator self-test (tests/emulators/mldash_emu.py) ---
add_test(NAME mldash_emulator_selftest COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/emulators/test_mldash_emu.py)
set_tests_properties(mldash_emulator_selftest PROPERTIES LABELS mldash TIMEOUT 120)
# --- end emulator self-test ---
# --- the ml-dash adapters against the emulator ---
xport_add_test(test_mldash SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mldash.c
               ${CMAKE_SOURCE_DIR}/tests/local/gen_layout.c LABELS mldash)
xport_add_test(test_mldash_local SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mldash_local.c
               ${CMAKE_SOURCE_DIR}/tests/local/gen_layout.c LABELS mldash)
# the point scanner on its own, on the fuzzer's findings
xport_add_test(test_mldash_scan SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mldash_scan.c LABELS mldash)
