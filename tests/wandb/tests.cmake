# The spool (core/spool.c) and the wandb-offline adapter.
xport_add_test(test_spool SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_spool.c
               LABELS unit wandb)
xport_add_test(test_wandb_crc SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wandb_crc.c
               LABELS unit wandb)
xport_add_test(test_wandb_rows
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wandb_rows.c
                       ${CMAKE_CURRENT_LIST_DIR}/wenc.c
                       ${CMAKE_CURRENT_LIST_DIR}/wtest.c
               LABELS wandb)
xport_add_test(test_wandb_offline
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wandb_offline.c
                       ${CMAKE_CURRENT_LIST_DIR}/wtest.c
               LABELS wandb)
xport_add_test(test_wandb_framing
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wandb_framing.c
                       ${CMAKE_CURRENT_LIST_DIR}/wenc.c
                       ${CMAKE_CURRENT_LIST_DIR}/wtest.c
               LABELS wandb)
add_test(NAME wandb_emulator_selftest COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/emulators/test_wandb_emu.py)
set_tests_properties(wandb_emulator_selftest PROPERTIES LABELS wandb TIMEOUT 120)
# The wandb adapter against the W&B emulator.
xport_add_test(test_wandb_server
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wandb_server.c
                       ${CMAKE_CURRENT_LIST_DIR}/wsrv.c
               LABELS wandb)
# Split series (points with many fields) through the W&B emulator.
xport_add_test(test_wandb_split
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wandb_split.c
                       ${CMAKE_CURRENT_LIST_DIR}/wsrv.c
               LABELS wandb)
# The wandb adapter against an emulator that refuses every field W&B's
# public client does not ask for (tests/wandb/public_gql.txt).
xport_add_test(test_wandb_public
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wandb_public.c
                       ${CMAKE_CURRENT_LIST_DIR}/wsrv.c
               LABELS wandb)
