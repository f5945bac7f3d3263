# The neptune-offline adapter on .neptune folders written by gen_neptune.py.
xport_add_test(test_neptune_offline
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_neptune_offline.c
               LABELS neptune)
# The neptune-backup adapter on folders written by gen_neptune.py.
xport_add_test(test_neptune_backup
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_neptune_backup.c
               LABELS neptune)
# The neptune adapter against the Neptune 2.x emulator (tests/emulators/neptune_emu.py).
xport_add_test(test_neptune_api
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_neptune_api.c
               LABELS neptune)
