#!/usr/bin/env bash
# Write throughput and reads of a busy session. specmock runs alone on core 0; wrk drives 32
# connections from core 1; each figure is the median of three runs.
# - A BRM transfer and an OES allocation, as fast as they are accepted. All 32 connections write
#   in one session (a wrk script's state is per thread, and wrk runs one thread), so every write
#   waits its turn at that session, and it grows by every write of the run. Transfers go back
#   and forth between two buckets, so no write is refused for want of funds (non-2xx answers
#   are counted and must be zero).
# - A filtered, sorted allocations page in a session holding 10,000 allocations it wrote,
#   against the same page in an untouched session.
#
#   bash bench/writes.sh               # 10 s per measurement
#   DURATION=5 bash bench/writes.sh    # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
RUNS=${RUNS:-3}
work=$(mktemp -d)
server=""
cleanup() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk >/dev/null || { echo "installing wrk" >&2; apt-get install -y -qq wrk >/dev/null; }

echo "building specmock (release)" >&2
cargo build --release --locked --quiet --bin specmock
BASE=http://127.0.0.1:4011
start() {
  if [ -n "$server" ]; then kill "$server"; wait "$server" 2>/dev/null || true; fi
  # Room for every write of a run: 100,000 writes a session, 10,000 sessions.
  taskset -c 0 ./target/release/specmock serve --port 4011 --quiet --no-cache --session-writes 10000000 --session-bytes 16GiB \
    --sessions 10000 >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 2000); do
    curl -sf -o /dev/null "$BASE/__admin/health" && return
    sleep 0.005
  done
  cat "$work/server.log" >&2; exit 1
}

cat >"$work/transfer.lua" <<'LUA'
-- The thread's session; each request moves 1 second one way, the next one back.
local n = 0
local id = 0
setup = function(thread) thread:set("id", math.random(1, 1e9)) end
init = function() id = math.random(1, 1e9) end
request = function()
  n = n + 1
  local a, b = "0.0.0.1+-balance_group+2083846+1000095+38", "0.0.0.1+-balance_group+2090186+1000095+20"
  if n % 2 == 0 then a, b = b, a end
  local body = '{"amount":{"amount":1,"units":"Free Seconds"},"bucket":{"id":"' .. a ..
    '"},"receiverBucket":{"id":"' .. b .. '"},"usageType":"other"}'
  return wrk.format("POST", "/brm/prepayBalanceManagement/v4/transferBalance",
    {["Authorization"] = "Bearer demo-token", ["Content-Type"] = "application/json",
     ["X-Specmock-Session"] = "bench-" .. id}, body)
end
LUA
cat >"$work/allocate.lua" <<'LUA'
-- Each request a new allocation (its own clientExternalId), in the thread's session.
local n = 0
local id = 0
init = function() id = math.random(1, 1e9) end
request = function()
  n = n + 1
  local body = '{"amount":{"currency":"USDT","quantity":"1000"},"clientExternalId":"bench-' .. id .. '-' .. n ..
    '","nonce":"n","payload":"p","signature":"s"}'
  return wrk.format("POST",
    "/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/clients/connections/f0b6e6f5-a314-4d03-bb47-e0f6b5aaab5f/allocations",
    {["Authorization"] = "Bearer demo-token", ["Content-Type"] = "application/json",
     ["X-Specmock-Session"] = "bench-" .. id}, body)
end
LUA

# measure NAME ARGS...: RUNS wrk runs (a fresh server each) into $work/NAME.rps; fails on any non-2xx.
# Not run in a subshell: the server it starts must be the one the next start stops.
measure() {
  local name=$1; shift
  : >"$work/$name.rps"
  for _ in $(seq 1 "$RUNS"); do
    start
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@")
    if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "$name: some answers were not 2xx" >&2; exit 1; fi
    echo "$out" | awk '/Requests\/sec/ {print $2}' >>"$work/$name.rps"
  done
}

measure transfer -s "$work/transfer.lua" "$BASE"
measure allocate -s "$work/allocate.lua" "$BASE"
transfer=$(median <"$work/transfer.rps"); allocate=$(median <"$work/allocate.rps")

# A session holding 10,000 allocations it wrote, then the same page in it and in an untouched one.
page="/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/partners/allocations?statuses=reserved&currencies=USDT&sortField=updatedAt&sortDirection=DESC&pageSize=50"
: >"$work/busy.rps"; : >"$work/untouched.rps"
for _ in $(seq 1 "$RUNS"); do
  start
  python3 - "$BASE" <<'PY'
import http.client, json, sys
host = sys.argv[1].split("//")[1]
c = http.client.HTTPConnection(host)
path = "/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/clients/connections/f0b6e6f5-a314-4d03-bb47-e0f6b5aaab5f/allocations"
for i in range(10000):
    body = json.dumps({"amount": {"currency": "USDT", "quantity": str(1 + i)}, "clientExternalId": f"fill-{i}",
                       "nonce": "n", "payload": "p", "signature": "s"})
    c.request("POST", path, body, {"Authorization": "Bearer demo-token", "Content-Type": "application/json",
                                    "X-Specmock-Session": "busy"})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
  for session in busy untouched; do
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s -H 'Authorization: Bearer demo-token' -H "X-Specmock-Session: $session" "$BASE$page" >/dev/null
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H 'Authorization: Bearer demo-token' -H "X-Specmock-Session: $session" "$BASE$page")
    if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; exit 1; fi
    echo "$out" | awk '/Requests\/sec/ {print $2}' >>"$work/$session.rps"
  done
done
busy=$(median <"$work/busy.rps"); untouched=$(median <"$work/untouched.rps")

printf '%-58s %12s\n' "measurement" "requests/s"
printf '%-58s %12.0f\n' "POST /transferBalance (BRM transfer)" "$transfer"
printf '%-58s %12.0f\n' "POST .../clients/connections/{id}/allocations (OES)" "$allocate"
printf '%-58s %12.0f\n' "allocations page, session holding 10,000 writes" "$busy"
printf '%-58s %12.0f\n' "allocations page, untouched session" "$untouched"
awk -v a="$busy" -v b="$untouched" 'BEGIN { printf "busy / untouched: %.2fx (target 0.8x)\n", a / b }'
