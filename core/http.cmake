# The HTTP engine (include/xport/sys/http.h); included by core/CMakeLists.txt.
target_sources(xportlib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/http.c
  ${CMAKE_CURRENT_LIST_DIR}/http_auth.c
  ${CMAKE_CURRENT_LIST_DIR}/http_body.c
  ${CMAKE_CURRENT_LIST_DIR}/http_log.c
  ${CMAKE_CURRENT_LIST_DIR}/http_multi.c
  ${CMAKE_CURRENT_LIST_DIR}/http_request.c
  ${CMAKE_CURRENT_LIST_DIR}/http_response.c
  ${CMAKE_CURRENT_LIST_DIR}/http_xfer.c
  ${CMAKE_CURRENT_LIST_DIR}/http_redact.c
  ${CMAKE_CURRENT_LIST_DIR}/http_retry.c
  ${CMAKE_CURRENT_LIST_DIR}/ratelimit.c
)
