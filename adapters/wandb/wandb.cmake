# The wandb-offline adapter (.wandb transaction logs on disk) and the wandb
# adapter (W&B servers: GraphQL, file_stream, run files).
target_sources(xportlib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/wandb_api.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_artifact.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_batch.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_crc.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_emit.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_item.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_log.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_merge.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_names.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_offline.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_points.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_prefetch.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_rows.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_run.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_run_history.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_run_meta.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_server.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_read_console.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_read_files.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_read_rows.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_server_read.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_read_util.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_server_write.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_write_rows.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_write_run.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_split.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_steps.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_stream.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_upload.c
  ${CMAKE_CURRENT_LIST_DIR}/wandb_xfiles.c
)
