# The neptune adapter (Neptune 2.x servers), the neptune-offline adapter (.neptune/ folders of neptune-client 1.x) and
# the neptune-backup adapter (folders of Neptune's backup script).
target_sources(xportlib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/npb_backup.c
  ${CMAKE_CURRENT_LIST_DIR}/npb_tz.c
  ${CMAKE_CURRENT_LIST_DIR}/npb_values.c
  ${CMAKE_CURRENT_LIST_DIR}/npa_auth.c
  ${CMAKE_CURRENT_LIST_DIR}/npa_files.c
  ${CMAKE_CURRENT_LIST_DIR}/npa_list.c
  ${CMAKE_CURRENT_LIST_DIR}/npa_page.c
  ${CMAKE_CURRENT_LIST_DIR}/npa_read.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_emit.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_fileset.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_offline.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_queue.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_state.c
)
