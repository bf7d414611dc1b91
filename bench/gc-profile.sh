#!/usr/bin/env bash
# What a route leaves to the garbage collector: the built server (dist/server.js, npm run build first) on
# CPU 0 under wrk -c64 POST from CPU 1 (3 s warm-up, then 5 s), with V8's --trace-gc-nvp; prints the
# requests served and, over the scavenges after warm-up, the median pause and the median bytes promoted
# to the old generation. Promotion is the figure to watch: objects of a finished request that survive
# scavenges (something long-lived still points at them) make every scavenge copy them (BENCHMARKS.md,
# "Upstream decoders"). Load on this shared machine moves requests/s; promoted bytes per scavenge move little.
#   bench/gc-profile.sh [route]   (default /stream?prompt=hi; BODY as in bench/profile-server.sh)
set -euo pipefail
route=${1:-/stream?prompt=hi}
cd "$(dirname "$0")/.."
source bench/server-under-load.sh
start_server 18556 --trace-gc-nvp
load 3 > /dev/null
skip=$(grep -c 'gc=s' "$server_output" || true)
requests=$(load 5 | grep -o '^ *[0-9]* requests' | grep -o '[0-9]*')
stop_server
grep 'gc=s' "$server_output" | tail -n +$((skip + 1)) | node -e '
  const lines = require("fs").readFileSync(0, "utf8").trim().split("\n")
  const field = (line, name) => Number(new RegExp(`\\b${name}=([0-9.]+)`).exec(line)?.[1])
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const pause = median(lines.map((line) => field(line, "pause")))
  const promoted = median(lines.map((line) => field(line, "promoted")))
  console.log(`requests ${process.argv[1]} in 5 s; ${lines.length} scavenges: median pause ${pause} ms, median promoted ${(promoted / 1024).toFixed(0)} KiB`)
' "$requests"
