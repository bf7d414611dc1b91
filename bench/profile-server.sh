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
script=$(mktemp --suffix=.lua); echo 'wrk.method = "POST"' > "$script"
if [ -n "${BODY:-}" ]; then
  printf 'wrk.body = [[%s]]\nwrk.headers["content-type"] = "application/json"\n' "$BODY" >> "$script"
fi
log=$(mktemp)
taskset -c 1 node --import tsx bench/fake-upstream.ts > "$log" 2>&1 & fake=$!
trap 'kill $fake 2>/dev/null; rm -f "$script" "$log"' EXIT
until grep -q listening "$log"; do sleep 0.2; done
upstream=http://127.0.0.1:$(grep -o 'listening [0-9]*' "$log" | cut -d' ' -f2)
env NODE_ENV=production LOG_LEVEL=info OPENAI_API_KEY=sk-bench-not-a-real-key OPENAI_BASE_URL="$upstream/v1" \
  OLLAMA_HOST="$upstream" RAG_DATA_DIR=/tmp/bench-rag-data RATE_LIMIT_MAX=0 STREAMS_PER_CLIENT=0 PORT=18555 \
  taskset -c 0 node --max-semi-space-size=32 --cpu-prof --cpu-prof-dir="$out" dist/server.js > /dev/null 2>&1 & server=$!
until curl -sf localhost:18555/health > /dev/null; do sleep 0.2; done
taskset -c 1 wrk -t1 -c64 -d3s -s "$script" "http://127.0.0.1:18555$route" > /dev/null
taskset -c 1 wrk -t1 -c64 -d10s -s "$script" "http://127.0.0.1:18555$route" | grep -E 'requests in|Non-2xx'
kill -INT $server; wait $server || true
