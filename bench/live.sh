#!/usr/bin/env bash
# Throughput with the console open and listening, against it closed: specmock with its admin API
# on core 0, wrk on core 1 over the transfer route, alternating runs with and without a live
# reader of /__admin/requests/live (what the console's Requests panel holds open). Reports the
# median req/s of each and their ratio.
#
#   bash bench/live.sh              # 10 s per run, 3 runs each
#   DURATION=5 RUNS=5 bash bench/live.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null

cargo build --release --locked --quiet --bin specmock
taskset -c 0 ./target/release/specmock serve --port 4020 --quiet --cache-dir "$work/cache" >"$work/log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:4020/brm/prepayBalanceManagement/v4/transferBalance/0.0.0.1+-event-audit-transfer_balance+332070103776495457"
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer demo-token' "$url")" = 200 ] && break
  sleep 0.05
done
load() { taskset -c 1 wrk -t1 -c32 -d"$1s" -H 'Authorization: Bearer demo-token' "$url" | awk '/Requests\/sec/ {print $2}'; }
load 2 >/dev/null # warm-up
: >"$work/closed"; : >"$work/open"
for _ in $(seq 1 "$RUNS"); do
  load "$DURATION" >>"$work/closed"
  # The live reader reads every entry, as the console does, on core 1 beside wrk.
  taskset -c 1 curl -sN http://127.0.0.1:4020/__admin/requests/live >"$work/live" &
  reader=$!
  sleep 0.2
  load "$DURATION" >>"$work/open"
  kill "$reader"; wait "$reader" 2>/dev/null || true
  [ -s "$work/live" ] || { echo "the live reader read nothing" >&2; exit 1; }
done
closed=$(median <"$work/closed"); open=$(median <"$work/open")
printf '| live reader | req/s (median of %s) |\n|---|---:|\n| none | %.0f |\n| one, reading every entry | %.0f |\n' "$RUNS" "$closed" "$open"
awk -v a="$open" -v b="$closed" 'BEGIN {printf "\nwith a reader: %.2fx the throughput without\n", a/b}'
