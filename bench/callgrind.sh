#!/usr/bin/env bash
# Instructions per request on the three benchmark routes and two writes (a BRM transfer back and
# forth between two buckets, an OES allocation), counted by callgrind: unlike req/s on a shared
# machine, the count repeats for the same binary and inputs, so small changes show.
#
#   bench/callgrind.sh [BINARY] [REQUESTS]     (default ./target/release/specmock, 2000)
#
# The server runs under valgrind uninstrumented while it starts; instrumentation is switched on
# for REQUESTS requests over 4 keep-alive connections (curl --parallel), then dumped. The figure
# counts every thread of the server, user space only.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

binary=${1:-./target/release/specmock}
requests=${2:-2000}
need() { command -v "$1" >/dev/null || { echo "bench/callgrind.sh needs $1 (apt-get install $2)" >&2; exit 2; }; }
need valgrind valgrind
need callgrind_control valgrind
need curl curl

work=$(mktemp -d)
trap 'kill "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT

TB=/brm/prepayBalanceManagement/v4/transferBalance/0.0.0.1+-event-audit-transfer_balance+332070103776495457
ENT=/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/partners
declare -A route=(
  [transfer]="$TB"
  [allocations]="$ENT/allocations?pageSize=50&types=allocation&statuses=cleared&sortField=quantity"
  [balances]="$ENT/balances"
  [transfer-write]=/brm/prepayBalanceManagement/v4/transferBalance
  [allocation-write]=/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/clients/connections/f0b6e6f5-a314-4d03-bb47-e0f6b5aaab5f/allocations
)

# drive URL N: N authorised GETs over 4 connections; fails unless every one answered 200.
drive() {
  local config=$work/curl.conf i
  : >"$config"
  for ((i = 0; i < $2; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$1" >>"$config"; done
  local codes
  codes=$(curl -s --parallel --parallel-max 4 -H 'Authorization: Bearer demo-token' -w '%{http_code}\n' -K "$config" 2>/dev/null | sort | uniq -c)
  [ "$(echo "$codes" | awk '{print $2}')" = 200 ] || { echo "non-200 answers: $codes" >&2; exit 1; }
}

# write NAME URL N FIRST: N writes on one keep-alive connection, numbered from FIRST; fails unless
# every one answered 2xx.
write() {
  python3 - "$@" <<'PY'
import http.client, json, sys
name, url, n, first = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
host, path = url.split("//")[1].split("/", 1)
c = http.client.HTTPConnection(host)
a, b = "0.0.0.1+-balance_group+2083846+1000095+38", "0.0.0.1+-balance_group+2090186+1000095+20"
for i in range(first, first + n):
    if name == "transfer-write":
        x, y = (a, b) if i % 2 == 0 else (b, a)
        body = {"amount": {"amount": 1, "units": "Free Seconds"}, "bucket": {"id": x}, "receiverBucket": {"id": y},
                "usageType": "other"}
    else:
        body = {"amount": {"currency": "USDT", "quantity": "1000"}, "clientExternalId": f"cg-{i}", "nonce": "n",
                "payload": "p", "signature": "s"}
    c.request("POST", "/" + path, json.dumps(body),
              {"Authorization": "Bearer demo-token", "Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status // 100 != 2:
        sys.exit(f"{name}: answered {r.status}")
PY
}

printf '| route | instructions per request |\n|---|---:|\n'
for name in transfer allocations balances transfer-write allocation-write; do
  port=$((4300 + RANDOM % 500))
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/out.%p" \
    "$binary" serve --port "$port" --no-admin --no-cache >"$work/log" 2>&1 &
  echo $! >"$work/pid"
  url="http://127.0.0.1:$port${route[$name]}"
  for _ in $(seq 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer demo-token' "http://127.0.0.1:$port$TB")" = 200 ] && break
    sleep 0.1
  done
  # Warm-up: connections, allocator pools, lazily built state.
  case $name in *-write) write "$name" "$url" 200 0 ;; *) drive "$url" 200 ;; esac
  pid=$(cat "$work/pid")
  callgrind_control -i on "$pid" >/dev/null
  case $name in *-write) write "$name" "$url" "$requests" 200 ;; *) drive "$url" "$requests" ;; esac
  callgrind_control -i off "$pid" >/dev/null
  callgrind_control -d "$pid" >/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true
  total=$(cat "$work"/out.* | awk '/^totals:/ {s += $2} END {print s}')
  rm -f "$work"/out.*
  printf '| %s | %s |\n' "$name" "$(awk -v t="$total" -v n="$requests" 'BEGIN {printf "%.1fk", t / n / 1000}')"
done
