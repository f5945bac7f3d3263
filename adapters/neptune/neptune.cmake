# The neptune adapter (Neptune 2.x servers), the neptune-offline adapter
# (.neptune/ folders of neptune-client 1.x), the neptune-backup adapter
# (folders of Neptune's backup script), the neptune-export adapter
# (neptune-exporter's Parquet files) and the neptune-scale adapter
# (run_operations.sqlite3 of the 3.x client, read through libsqlite3:
# Debian libsqlite3-dev).
target_sources(xportlib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/npb_backup.c
  ${CMAKE_CURRENT_LIST_DIR}/npb_tz.c
  ${CMAKE_CURRENT_LIST_DIR}/npb_values.c
  ${CMAKE_CURRENT_LIST_DIR}/nex_emit.c
  ${CMAKE_CURRENT_LIST_DIR}/nex_export.c
  ${CMAKE_CURRENT_LIST_DIR}/nex_rows.c
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
  ${CMAKE_CURRENT_LIST_DIR}/nps_db.c
  ${CMAKE_CURRENT_LIST_DIR}/nps_emit.c
  ${CMAKE_CURRENT_LIST_DIR}/nps_replay.c
  ${CMAKE_CURRENT_LIST_DIR}/nps_scale.c
  ${CMAKE_CURRENT_LIST_DIR}/nps_value.c
)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
target_link_libraries(xportlib PUBLIC PkgConfig::SQLITE3)
