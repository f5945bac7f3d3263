# The wandb-offline adapter: .wandb transaction logs on disk.
target_sources(xportlib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/wandb_log.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_offline.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_pb.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_points.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_run.c
)
