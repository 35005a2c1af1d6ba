#!/usr/bin/env bash
# Side-by-side load benchmark: specmock, a bare-axum ceiling serving the same bytes, and Prism 5
# on the same spec files. wrk drives 32 connections from core 1; each server runs alone on core 0.
# Every measurement runs three times, starts included, and the median is reported; load runs
# alternate between the servers so each ratio compares like conditions. Exits non-zero
# on any error.
#
#   bash bench/run.sh               # 10 s per measurement
#   DURATION=5 bash bench/run.sh    # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
RUNS=${RUNS:-3}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1 || { echo "installing $2" >&2; apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need taskset util-linux
need curl curl

echo "building specmock and the ceiling (release)" >&2
cargo build --release --locked --quiet --bin specmock --example ceiling

prism_dir=${PRISM_DIR:-$work/prism}
if [ ! -x "$prism_dir/node_modules/.bin/prism" ]; then
  echo "installing @stoplight/prism-cli 5.x into $prism_dir" >&2
  mkdir -p "$prism_dir"
  (cd "$prism_dir" && npm install --silent --no-audit --no-fund "@stoplight/prism-cli@5" >/dev/null)
fi
prism="$prism_dir/node_modules/.bin/prism"


# launch NAME URL-TO-POLL COMMAND...: starts a server on core 0 and appends the ms from spawn to
# its first 200 to $work/NAME.starts; the pid goes to $work/NAME.pid.
launch() {
  local name=$1 probe=$2; shift 2
  local t0; t0=$(now_ms)
  taskset -c 0 "$@" >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  echo "$pid" >"$work/$name.pid"
  for _ in $(seq 1 1000); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer demo-token' "$probe")" = 200 ]; then
      echo "$(( $(now_ms) - t0 ))" >>"$work/$name.starts"
      return
    fi
    sleep 0.005
  done
  echo "$name did not answer 200 at $probe" >&2; cat "$work/$name.log" >&2; exit 1
}

# stop NAME: stops the server NAME and waits until it is gone.
stop() { local pid; pid=$(cat "$work/$1.pid"); kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done; }

# start NAME URL-TO-POLL COMMAND...: starts the server RUNS times and keeps the last one running;
# $work/NAME.start gets the median ms to first 200.
start() {
  local name=$1
  for i in $(seq 1 "$RUNS"); do
    launch "$@"
    if [ "$i" -lt "$RUNS" ]; then stop "$name"; fi
  done
  median <"$work/$name.starts" >"$work/$name.start"
}

TB=/transferBalance/0.0.0.1+-event-audit-transfer_balance+332070103776495457
ENT=/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/partners
ALLOC="$ENT/allocations?pageSize=50&types=allocation&statuses=cleared&sortField=quantity"
BAL="$ENT/balances"

# specmock keeps compiled stores between starts (snapshots): the first start in a fresh cache
# folder builds them from the fixtures, and is reported apart; the table shows later starts.
specmock=(./target/release/specmock serve --port 4010 --no-admin --cache-dir "$work/cache")
launch specmock-cold "http://127.0.0.1:4010/brm/prepayBalanceManagement/v4$TB" "${specmock[@]}"
cold_rss=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$(cat "$work/specmock-cold.pid")/status")
stop specmock-cold
start specmock "http://127.0.0.1:4010/brm/prepayBalanceManagement/v4$TB" "${specmock[@]}"
start ceiling "http://127.0.0.1:4011/brm/prepayBalanceManagement/v4$TB" ./target/release/examples/ceiling 4011
# Prism serves one document per process and ignores the server path.
start prism-brm "http://127.0.0.1:4012$TB" "$prism" mock -h 127.0.0.1 -p 4012 spec/prepay-balance.yaml
start prism-oes "http://127.0.0.1:4013$BAL" "$prism" mock -h 127.0.0.1 -p 4013 spec/oes-partners.yaml

declare -A url
url[specmock,transfer]="http://127.0.0.1:4010/brm/prepayBalanceManagement/v4$TB"
url[specmock,allocations]="http://127.0.0.1:4010$ALLOC"
url[specmock,balances]="http://127.0.0.1:4010$BAL"
url[ceiling,transfer]="http://127.0.0.1:4011/brm/prepayBalanceManagement/v4$TB"
url[ceiling,allocations]="http://127.0.0.1:4011$ALLOC"
url[ceiling,balances]="http://127.0.0.1:4011$BAL"
url[prism,transfer]="http://127.0.0.1:4012$TB"
url[prism,allocations]="http://127.0.0.1:4013$ALLOC"
url[prism,balances]="http://127.0.0.1:4013$BAL"
pidfile() { case "$1,$2" in prism,transfer) echo prism-brm;; prism,*) echo prism-oes;; *) echo "$1";; esac; }


errors=0
printf '| server | route | req/s | p50 ms | p99 ms | non-2xx | first 200 ms | peak RSS MB | specmock / Prism |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|\n'
declare -A rps bad
servers=(specmock ceiling prism)
for route in transfer allocations balances; do
  for server in "${servers[@]}"; do
    : >"$work/$server.rps"; : >"$work/$server.p50"; : >"$work/$server.p99"; bad[$server]=0
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s -H 'Authorization: Bearer demo-token' "${url[$server,$route]}" >/dev/null  # warm-up
  done
  # Runs alternate between the servers, so a ratio compares runs made under the same machine load.
  for _ in $(seq 1 "$RUNS"); do
    for server in "${servers[@]}"; do
      out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H 'Authorization: Bearer demo-token' "${url[$server,$route]}")
      echo "$out" | awk '/Requests\/sec/ {print $2}' >>"$work/$server.rps"
      to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')" >>"$work/$server.p50"; echo >>"$work/$server.p50"
      to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')" >>"$work/$server.p99"; echo >>"$work/$server.p99"
      n=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); bad[$server]=$(( ${bad[$server]} + ${n:-0} ))
      e=$(echo "$out" | awk '/Socket errors/ {s=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) s+=$i; print s}'); errors=$((errors + ${e:-0}))
    done
  done
  for server in "${servers[@]}"; do
    errors=$(( errors + ${bad[$server]} ))
    r=$(median <"$work/$server.rps"); rps[$server,$route]=$r
    p=$(pidfile "$server" "$route")
    rss=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$(cat "$work/$p.pid")/status")
    ratio=""
    if [ "$server" = prism ]; then ratio=$(awk -v a="${rps[specmock,$route]}" -v b="$r" 'BEGIN {printf "%.1fx", a/b}'); fi
    if [ "$server" = ceiling ]; then ratio=$(awk -v a="${rps[specmock,$route]}" -v b="$r" 'BEGIN {printf "(%.2fx ceiling)", a/b}'); fi
    printf '| %s | %s | %.0f | %s | %s | %d | %s | %s | %s |\n' "$server" "$route" "$r" \
      "$(grep -v '^$' "$work/$server.p50" | median)" "$(grep -v '^$' "$work/$server.p99" | median)" "${bad[$server]}" "$(cat "$work/$p.start")" "$rss" "$ratio"
  done
done
printf '\nspecmock without a snapshot (first start in a fresh cache folder): first 200 in %s ms, peak RSS %s MB.\n' \
  "$(cat "$work/specmock-cold.starts")" "$cold_rss"
if [ "$errors" -ne 0 ]; then
  echo "bench: $errors errors or non-2xx responses" >&2
  exit 1
fi
