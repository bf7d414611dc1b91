# Sourced by bench/profile-server.sh and bench/gc-profile.sh: the built server (dist/server.js) pinned to
# CPU 0 against the fake upstream, loaded by wrk -c64 POST from CPU 1 (with BODY, a JSON body).
#   start_server <port> <node flags...>   starts the fake and the server (its output in $server_output)
#   load <seconds>                        wrk on $route; prints wrk's summary
#   stop_server                           SIGINT, and waits for the server to exit
script=$(mktemp --suffix=.lua); echo 'wrk.method = "POST"' > "$script"
if [ -n "${BODY:-}" ]; then
  printf 'wrk.body = [[%s]]\nwrk.headers["content-type"] = "application/json"\n' "$BODY" >> "$script"
fi
fake_log=$(mktemp); server_output=$(mktemp)
trap 'kill $fake 2>/dev/null; rm -f "$script" "$fake_log" "$server_output"' EXIT

start_server() {
  port=$1; shift
  taskset -c 1 node --import tsx bench/fake-upstream.ts > "$fake_log" 2>&1 & fake=$!
  until grep -q listening "$fake_log"; do sleep 0.2; done
  local upstream=http://127.0.0.1:$(grep -o 'listening [0-9]*' "$fake_log" | cut -d' ' -f2)
  env NODE_ENV=production LOG_LEVEL=info OPENAI_API_KEY=sk-bench-not-a-real-key OPENAI_BASE_URL="$upstream/v1" \
    OLLAMA_HOST="$upstream" RAG_DATA_DIR=/tmp/bench-rag-data RATE_LIMIT_MAX=0 STREAMS_PER_CLIENT=0 PORT=$port \
    taskset -c 0 node --max-semi-space-size=32 "$@" dist/server.js > "$server_output" 2>&1 & server=$!
  until curl -sf "localhost:$port/health" > /dev/null; do sleep 0.2; done
}

load() {
  taskset -c 1 wrk -t1 -c64 -d"$1"s -s "$script" "http://127.0.0.1:$port$route"
}

stop_server() {
  kill -INT $server; wait $server || true
}
