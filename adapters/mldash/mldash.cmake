# The ml-dash adapters: the server (both protocol generations) and the
# ml-dash v0.6 local store writer.
target_sources(xportlib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/mldash.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_api.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_append.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_chunks.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_create.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_jwt.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_read_extras.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_files.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_list.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_local.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_local_files.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_local_names.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_local_series.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_logs.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_read.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_scan.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_upload.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_write.c
  ${CMAKE_CURRENT_LIST_DIR}/mldash_write_extras.c
)
