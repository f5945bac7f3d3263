# The neptune-offline adapter on .neptune folders written by gen_neptune.py.
xport_add_test(test_neptune_offline
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_neptune_offline.c
               LABELS neptune)
# The neptune-backup adapter on folders written by gen_neptune.py.
xport_add_test(test_neptune_backup
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_neptune_backup.c
               LABELS neptune)
# The neptune-export adapter on the exporter folder gen_parquet.mjs wrote
# (tests/fixtures/neptune-export).
xport_add_test(test_neptune_export
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_neptune_export.c
               LABELS neptune)
# The neptune-scale adapter on databases written by gen_neptune_scale.py.
xport_add_test(test_neptune_scale
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_neptune_scale.c
               LABELS neptune)
# The neptune adapter against the Neptune 2.x emulator (tests/emulators/neptune_emu.py).
xport_add_test(test_neptune_api
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_neptune_api.c
                       ${CMAKE_SOURCE_DIR}/tests/wandb/wsrv.c
               LABELS neptune)
# The Neptune 2.x emulator's self-test.
add_test(NAME neptune_emulator_selftest
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/emulators/test_neptune_emu.py)
set_tests_properties(neptune_emulator_selftest PROPERTIES LABELS neptune TIMEOUT 120)
