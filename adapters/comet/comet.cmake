# The Comet adapters: comet (a Comet server over REST v2), cometx (folders written by `cometx download`, read and
# write), comet-offline (OfflineExperiment archives, read and write) and the shared
# Comet value and point code.
target_sources(xportlib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/comet.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_api.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_fetch.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_lines.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_list.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_read.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_upload.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_upload_data.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_upload_find.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_upload_metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_write.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_offline.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_offline_names.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_offline_read.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_offline_write.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_util.c
  ${CMAKE_CURRENT_LIST_DIR}/comet_value.c
  ${CMAKE_CURRENT_LIST_DIR}/cometx.c
  ${CMAKE_CURRENT_LIST_DIR}/cometx_exp.c
  ${CMAKE_CURRENT_LIST_DIR}/cometx_read.c
  ${CMAKE_CURRENT_LIST_DIR}/cometx_write.c
)
