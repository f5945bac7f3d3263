# Writes what `xport --dump-man` and `xport --dump-completion` print (cmd/doc_main.c)
# into OUT: man1/xport.1 and man1/xport-CMD.1 for every command `xport --help`
# lists, bash/xport and zsh/_xport. Run by the build (cmake/install.cmake):
#   cmake -DXPORT=path/to/xport -DOUT=dir -P cmake/gen_docs.cmake
if(NOT XPORT OR NOT OUT)
  message(FATAL_ERROR "gen_docs.cmake needs -DXPORT=... and -DOUT=...")
endif()
# only the built-in adapters belong in the pages
unset(ENV{XPORT_PLUGIN_PATH})
set(ENV{ASAN_OPTIONS} "detect_leaks=0")

function(dump out)
  get_filename_component(dir ${out} DIRECTORY)
  file(MAKE_DIRECTORY ${dir})
  execute_process(COMMAND ${XPORT} ${ARGN} OUTPUT_FILE ${out}.tmp
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    file(REMOVE ${out}.tmp)
    message(FATAL_ERROR "xport ${ARGN} failed (${rc}): ${err}")
  endif()
  file(RENAME ${out}.tmp ${out})
endfunction()

execute_process(COMMAND ${XPORT} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "xport --help failed (${rc})")
endif()
# the command table, as `xport --help` lists it under "commands:"
string(REGEX REPLACE "^.*\ncommands:\n" "" help "${help}")
string(REGEX REPLACE "\n\n.*$" "" help "${help}")
string(REGEX MATCHALL "(^|\n)  [a-z][a-z0-9-]*" cmds "${help}")

file(REMOVE_RECURSE ${OUT}/man1)
dump(${OUT}/man1/xport.1 --dump-man)
set(n 0)
foreach(c IN LISTS cmds)
  string(STRIP "${c}" c)
  dump(${OUT}/man1/xport-${c}.1 --dump-man ${c})
  math(EXPR n "${n} + 1")
endforeach()
if(n EQUAL 0)
  message(FATAL_ERROR "xport --help lists no commands")
endif()
dump(${OUT}/bash/xport --dump-completion bash)
dump(${OUT}/zsh/_xport --dump-completion zsh)
file(TOUCH ${OUT}/stamp)
