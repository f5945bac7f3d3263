# HTTP engine throughput (bench/http_bench.sh runs it against the loopback
# fault server and the curl CLI).
add_executable(xport-bench-http ${CMAKE_CURRENT_LIST_DIR}/http_bench.c)
target_link_libraries(xport-bench-http PRIVATE xportlib)
