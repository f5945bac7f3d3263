# wandb-offline benchmark: a generator of big .wandb runs (it shares the
# tests' framing encoder) and a reader that pulls every record.
add_executable(xport-bench-wandb-gen ${CMAKE_CURRENT_LIST_DIR}/wandb_gen.c
               ${CMAKE_SOURCE_DIR}/tests/wandb/wenc.c)
target_include_directories(xport-bench-wandb-gen PRIVATE
                           ${CMAKE_SOURCE_DIR}/tests/wandb)
target_link_libraries(xport-bench-wandb-gen PRIVATE xportlib)
add_executable(xport-bench-wandb-read ${CMAKE_CURRENT_LIST_DIR}/wandb_read.c)
target_link_libraries(xport-bench-wandb-read PRIVATE xportlib)

# W&B server read benchmark: bench/wandb_server.sh [ROWS] (emulator, needs
# xport and xport-bench-runstat from this build).
