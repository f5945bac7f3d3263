#!/bin/sh
# One metric of N points (default 1,000,000) in sealed chunks of 100,000 on
# the ml-dash emulator, at 0 ms and 20 ms injected latency per request:
#   download  xport download --from mldash (stats, chunks in parallel)
#   upload    xport copy LAYOUT mldash:... (append-batch) into an empty server
#   curl      curl --parallel fetching the same chunk bodies: the bound
# Prints points/s, peak RSS and the download time over curl's.
# Usage: bench/mldash_bench.sh [POINTS] [LATENCIES_MS]   (needs build-release/:
#   cmake --build build-release --target xport xport-bench-runstat;
#   XPORT_BUILD=DIR uses another build directory, relative to the source root)
set -eu
N=${1:-1000000}
LATS=${2:-"0 20"}
CHUNK=100000
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case ${XPORT_BUILD:=build-release} in /*) B=$XPORT_BUILD ;; *) B=$ROOT/$XPORT_BUILD ;; esac
X=$B/cmd/xport
RS=$B/bench/xport-bench-runstat
[ -x "$X" ] && [ -x "$RS" ] || { echo "build $B first (xport, xport-bench-runstat)" >&2; exit 2; }
T=$(mktemp -d)
EMU=
trap '[ -n "$EMU" ] && kill $EMU 2>/dev/null; rm -rf "$T"' EXIT

emu_start() { # latency_ms
    [ -n "$EMU" ] && { kill $EMU 2>/dev/null; wait $EMU 2>/dev/null || true; }
    rm -f "$T/port"
    python3 -u "$ROOT/tests/emulators/mldash_emu.py" --chunk-size $CHUNK \
        --latency-ms "$1" > "$T/port" 2> "$T/emu.err" &
    EMU=$!
    while [ ! -s "$T/port" ]; do sleep 0.1; done
    U="http://127.0.0.1:$(awk '{print $2}' "$T/port")"
    export MLDASH_REMOTE="$U" MLDASH_USERNAME=tom
}

# runstat's cpu_seconds from file $1
cpu_of() { sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p' "$1"; }

# utime + stime of process $1, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# runstat's "wall_seconds=S peak_rss_kib=K exit=E" from file $1
stat_of() { sed -n 's/.*wall_seconds=\([0-9.]*\) peak_rss_kib=\([0-9]*\) exit=\([0-9]*\).*/\1 \2 \3/p' "$1"; }

report() { # label secs rss_kib
    printf '%-22s %8.2f s  %10.0f points/s  peak RSS %6.1f MiB\n' "$1" "$2" \
        "$(echo "$N / $2" | bc -l)" "$(echo "$3 / 1024" | bc -l)"
}

echo "ml-dash emulator, 1 metric x $N points, chunks of $CHUNK"
for LAT in $LATS; do
    emu_start "$LAT"
    curl -sf -XPOST "$U/__emu/seed" -o "$T/seed.json" --data-binary \
        "{\"namespace\":\"tom\",\"experiments\":[{\"project\":\"p\",\"name\":\"e\",\"metrics\":{\"big\":{\"generate\":{\"count\":$N,\"start\":0,\"step\":1},\"chunkSize\":$CHUNK}}}]}"
    EID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["experiments"][0]["id"])' "$T/seed.json")
    NCH=$(( N / CHUNK ))

    # download
    rm -rf "$T/dl"
    "$RS" "$X" download -q --from mldash tom/p metrics -o "$T/dl" >/dev/null 2> "$T/dl.stat" || { cat "$T/dl.stat" >&2; exit 1; }
    set -- $(stat_of "$T/dl.stat"); DL=$1; DLRSS=$2; DLCPU=$(cpu_of "$T/dl.stat")
    got=$(wc -l < "$T/dl/tom/p/e/metrics/big/data.jsonl")
    [ "$got" -eq "$N" ] || { echo "download: $got points, expected $N" >&2; exit 1; }

    # curl --parallel over the same chunk bodies; the token goes through a
    # header file so it is never on a command line or in output
    umask 077
    curl -sf -XPOST "$U/__emu/token" -d '{"username":"tom","style":"v06"}' |
        python3 -c 'import json,sys; print("Authorization: Bearer " + json.load(sys.stdin)["token"])' > "$T/auth"
    : > "$T/urls"
    i=0
    while [ $i -lt $NCH ]; do
        printf 'url = "%s/api/experiments/%s/metrics/big/chunks/%d"\noutput = "%s/chunk%d"\n' \
            "$U" "$EID" $i "$T" $i >> "$T/urls"
        i=$((i + 1))
    done
    "$RS" curl -sf --parallel --parallel-max "$NCH" -H @"$T/auth" -K "$T/urls" 2> "$T/curl.stat" || { cat "$T/curl.stat" >&2; exit 1; }
    set -- $(stat_of "$T/curl.stat"); CU=$1; CURSS=$2; CUCPU=$(cpu_of "$T/curl.stat")
    CB=$(cat "$T"/chunk* | wc -c); rm -f "$T"/chunk*

    # upload into an empty server
    emu_start "$LAT"
    EC0=$(cpu_ticks "$EMU")
    "$RS" "$X" copy -q "$T/dl" mldash:tom >/dev/null 2> "$T/up.stat" || { cat "$T/up.stat" >&2; exit 1; }
    EC1=$(cpu_ticks "$EMU")
    set -- $(stat_of "$T/up.stat"); UP=$1; UPRSS=$2; UPCPU=$(cpu_of "$T/up.stat")
    held=$(curl -sf "$U/__emu/dump?points=0" | python3 -c 'import json,sys
d = json.load(sys.stdin)
print(sum(int(m["totalDataPoints"]) for ns in d["namespaces"] for p in ns["projects"]
          for e in p["experiments"] for m in e["metrics"].values()))' 2>/dev/null || echo "?")

    echo "--- latency ${LAT} ms per request"
    report "download (xport)" "$DL" "$DLRSS"
    # parsing and writing the points is CPU that fetching them does not
    # have: on two cores it, not the network, bounds the download
    printf '%-22s %8s s CPU of xport\n' "" "$DLCPU"
    report "chunks (curl --parallel)" "$CU" "$CURSS"
    echo "                       curl fetched $NCH chunks, $CB bytes, $CUCPU s CPU"
    printf '%-22s %8.2f x curl\n' "download / curl" "$(echo "$DL / $CU" | bc -l)"
    report "upload (xport)" "$UP" "$UPRSS"
    echo "                       server holds $held points after the upload"
    # one metric is appended one batch at a time (the server numbers points
    # in arrival order), so the emulator's own CPU time bounds the upload
    printf '%-22s %8s s CPU of xport, %.2f s CPU of the emulator\n' "" "$UPCPU" \
        "$(echo "($EC1 - $EC0) / $(getconf CLK_TCK)" | bc -l)"
done
