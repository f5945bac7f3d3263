# The neptune-offline adapter (.neptune/ folders of neptune-client 1.x).
target_sources(xportlib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/npt_emit.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_fileset.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_offline.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_queue.c
  ${CMAKE_CURRENT_LIST_DIR}/npt_state.c
)
