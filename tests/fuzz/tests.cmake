# The fuzz targets' committed corpora replayed once (scripts/fuzz.sh
# --replay, in its own clang build dir build-fuzz); skipped (77) without
# clang and libclang-rt-14-dev.
add_test(NAME fuzz_replay COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/fuzz.sh --replay)
set_tests_properties(fuzz_replay PROPERTIES LABELS fuzz SKIP_RETURN_CODE 77 TIMEOUT 900)
