# Disk faults (issue 16): the XPORT_FAULT hook of core/sysio.c walked over a
# copy and a W&B offline conversion. Only in builds with the hook on.
if(XPORT_FAULT_INJECTION)
  add_test(NAME disk_faults COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_LIST_DIR}/test_disk_faults.py $<TARGET_FILE:xport>
           $<TARGET_FILE:xport-test-gen> ${CMAKE_SOURCE_DIR}/tests/fixtures)
  set_tests_properties(disk_faults PROPERTIES LABELS faults TIMEOUT 600)
endif()
# Kill anywhere (issue 16): SIGKILL at counted moments of every adapter
# direction (XPORT_FAULT=KILL/REQ-KILL/BODY-KILL), then --resume must give
# what a clean run gives; SIGTERM/SIGINT stop cleanly with 143/130.
if(XPORT_FAULT_INJECTION)
  add_test(NAME kill_anywhere COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_LIST_DIR}/test_kill.py $<TARGET_FILE:xport>
           ${CMAKE_SOURCE_DIR}/tests/fixtures)
  set_tests_properties(kill_anywhere PROPERTIES LABELS faults TIMEOUT 900)
endif()
