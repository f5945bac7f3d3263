# Parquet reader benchmark (bench/parquet_read.sh): every column of every
# row group of a file through the core reader.
add_executable(xport-bench-parquet-read ${CMAKE_CURRENT_LIST_DIR}/parquet_read.c)
target_link_libraries(xport-bench-parquet-read PRIVATE xportlib)
