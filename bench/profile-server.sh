#!/usr/bin/env bash
# A V8 CPU profile of the built server under load, for "where does a request's CPU go" questions that
# two-process throughput runs on a shared machine cannot resolve (BENCHMARKS.md, "Metrics").
#   bench/profile-server.sh <out-dir> [route]   (route default: /local-chat?model=llama3.2&prompt=hi)
# The server (dist/server.js, npm run build first) is pinned to CPU 0, the fake upstream and wrk to CPU 1;
# 3 s of warm-up, then 10 s of wrk -c64 POST (with BODY, a JSON body: BODY='{"messages":[...]}').
# Summarise with bench/profile-summary.cjs.
set -euo pipefail
out=$1; route=${2:-/local-chat?model=llama3.2&prompt=hi}
cd "$(dirname "$0")/.."
mkdir -p "$out"
source bench/server-under-load.sh
start_server 18555 --cpu-prof --cpu-prof-dir="$out"
load 3 > /dev/null
load 10 | grep -E 'requests in|Non-2xx'
stop_server
