# The neptune-offline adapter (.neptune/ folders of neptune-client 1.x) and
# the neptune-backup adapter (folders of Neptune's backup script) and the
# neptune-export adapter (neptune-exporter's Parquet files).
target_sources(xportlib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/npb_backup.c
  ${CMAKE_CURRENT_LIST_DIR}/npb_tz.c
  ${CMAKE_CURRENT_LIST_DIR}/npb_values.c
  ${CMAKE_CURRENT_LIST_DIR}/nex_emit.c
  ${CMAKE_CURRENT_LIST_DIR}/nex_export.c
  ${CMAKE_CURRENT_LIST_DIR}/nex_rows.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_emit.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_fileset.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_offline.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_queue.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_state.c
)
