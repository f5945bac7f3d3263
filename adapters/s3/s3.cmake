# The s3 adapter: xport layouts in S3-compatible storage (s3://BUCKET/PREFIX).
target_sources(xportlib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/s3.c
  ${CMAKE_CURRENT_LIST_DIR}/s3_api.c
  ${CMAKE_CURRENT_LIST_DIR}/s3_conf.c
  ${CMAKE_CURRENT_LIST_DIR}/s3_fetch.c
  ${CMAKE_CURRENT_LIST_DIR}/s3_layout.c
  ${CMAKE_CURRENT_LIST_DIR}/s3_sink.c
  ${CMAKE_CURRENT_LIST_DIR}/s3_state.c
)
