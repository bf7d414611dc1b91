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
script=$(mktemp --suffix=.lua); echo 'wrk.method = "POST"' > "$script"
if [ -n "${BODY:-}" ]; then
  printf 'wrk.body = [[%s]]\nwrk.headers["content-type"] = "application/json"\n' "$BODY" >> "$script"
fi
log=$(mktemp); trace=$(mktemp)
taskset -c 1 node --import tsx bench/fake-upstream.ts > "$log" 2>&1 & fake=$!
trap 'kill $fake 2>/dev/null; rm -f "$script" "$log" "$trace"' EXIT
until grep -q listening "$log"; do sleep 0.2; done
upstream=http://127.0.0.1:$(grep -o 'listening [0-9]*' "$log" | cut -d' ' -f2)
env NODE_ENV=production LOG_LEVEL=info OPENAI_API_KEY=sk-bench-not-a-real-key OPENAI_BASE_URL="$upstream/v1" \
  OLLAMA_HOST="$upstream" RAG_DATA_DIR=/tmp/bench-rag-data RATE_LIMIT_MAX=0 STREAMS_PER_CLIENT=0 PORT=18556 \
  taskset -c 0 node --max-semi-space-size=32 --trace-gc-nvp dist/server.js > "$trace" 2>&1 & server=$!
until curl -sf localhost:18556/health > /dev/null; do sleep 0.2; done
taskset -c 1 wrk -t1 -c64 -d3s -s "$script" "http://127.0.0.1:18556$route" > /dev/null
skip=$(grep -c 'gc=s' "$trace" || true)
requests=$(taskset -c 1 wrk -t1 -c64 -d5s -s "$script" "http://127.0.0.1:18556$route" | grep -o '^ *[0-9]* requests' | grep -o '[0-9]*')
kill -INT $server; wait $server || true
grep 'gc=s' "$trace" | tail -n +$((skip + 1)) | node -e '
  const lines = require("fs").readFileSync(0, "utf8").trim().split("\n")
  const field = (line, name) => Number(new RegExp(`\\b${name}=([0-9.]+)`).exec(line)?.[1])
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const pause = median(lines.map((line) => field(line, "pause")))
  const promoted = median(lines.map((line) => field(line, "promoted")))
  console.log(`requests ${process.argv[1]} in 5 s; ${lines.length} scavenges: median pause ${pause} ms, median promoted ${(promoted / 1024).toFixed(0)} KiB`)
' "$requests"
