# ml-dash benchmark: bench/mldash_bench.sh [POINTS] [LATENCIES_MS]. It needs
# only xport and xport-bench-runstat from this build, so no targets here.
