# The Comet adapters: cometx (folders written by `cometx download`, read and
# write), comet-offline (OfflineExperiment archives, read and write) and the shared
# Comet value and point code.
target_sources(xportlib PRIVATE
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
