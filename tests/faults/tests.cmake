# Disk faults (issue 16): the XPORT_FAULT hook of core/sysio.c walked over a
# copy, a W&B offline conversion and the comet-offline writer. Only in
# builds with the hook on.
if(XPORT_FAULT_INJECTION)
  add_test(NAME disk_faults COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_LIST_DIR}/test_disk_faults.py $<TARGET_FILE:xport>
           $<TARGET_FILE:xport-test-gen> ${CMAKE_SOURCE_DIR}/tests/fixtures)
  set_tests_properties(disk_faults PROPERTIES LABELS faults TIMEOUT 600)
endif()

# Network faults (issue 16): each vendor's download and upload against its
# emulator under the shared fault schedule (tests/emulators/emuhttp.py).
add_test(NAME net_faults COMMAND ${Python3_EXECUTABLE}
         ${CMAKE_CURRENT_LIST_DIR}/test_net_faults.py $<TARGET_FILE:xport>
         ${CMAKE_SOURCE_DIR}/tests/emulators)
set_tests_properties(net_faults PROPERTIES LABELS faults TIMEOUT 300)
# Kill anywhere (issue 16): SIGKILL at counted moments of every adapter
# direction (XPORT_FAULT=KILL/REQ-KILL/BODY-KILL; 4 moments each here, the
# full walk is `test_kill.py XPORT FIXTURES full`), then --resume must give
# what a clean run gives; SIGTERM/SIGINT stop cleanly with 143/130.
if(XPORT_FAULT_INJECTION)
  add_test(NAME kill_anywhere COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_LIST_DIR}/test_kill.py $<TARGET_FILE:xport>
           ${CMAKE_SOURCE_DIR}/tests/fixtures)
  set_tests_properties(kill_anywhere PROPERTIES LABELS faults TIMEOUT 900)
endif()
# Hostile servers (issue 16): each vendor's emulator answering with hostile
# names, sizes, bodies, redirects, nesting and numbers (tests/emulators/hostile.py).
add_test(NAME hostile_servers COMMAND ${Python3_EXECUTABLE}
         ${CMAKE_CURRENT_LIST_DIR}/test_hostile.py $<TARGET_FILE:xport>)
set_tests_properties(hostile_servers PROPERTIES LABELS faults TIMEOUT 300)
