#!/usr/bin/env bash
# Loading a very large document: GitHub's REST API description (npm @octokit/openapi,
# generated/api.github.com.json, 13 MB of JSON, about 1,100 operations), too big to commit.
# Prints the time from starting `specmock serve --spec` to its first answer, and the server's
# peak resident memory (Prism 5 needs about 17 s and 350 MB for the same document), then drives
# every operation once with `specmock verify` and prints how many answers the document allows.
#
#   bash bench/github.sh            # OCTOKIT_OPENAPI_VERSION=23.0.2 by default
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

version="${OCTOKIT_OPENAPI_VERSION:-23.0.2}"
dir="${TMPDIR:-/tmp}/specmock-github-$version"
spec="$dir/package/generated/api.github.com.json"
if [ ! -f "$spec" ]; then
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "@octokit/openapi@$version" >/dev/null && tar xzf "octokit-openapi-$version.tgz")
fi
cargo build --release --locked --quiet
port="${PORT:-4071}"
printf 'document: %s (%s bytes, %s operations)\n' "$spec" "$(stat -c %s "$spec")" \
  "$(target/release/specmock check --spec "$spec" 2>/dev/null | sed -n 's/.*(\([0-9]*\) operations.*/\1/p')"

runs=()
for run in 1 2 3; do
  start=$(now_ms)
  target/release/specmock serve --spec "$spec" --port "$port" --no-cache --quiet >/dev/null 2>"$dir/stderr" &
  pid=$!
  until code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/meta") && [ "$code" != 000 ]; do
    if ! kill -0 "$pid" 2>/dev/null; then cat "$dir/stderr" >&2; exit 1; fi
    sleep 0.01
  done
  first=$(($(now_ms) - start))
  # A few more answers, so the peak includes serving, not only loading.
  for path in /meta /repos/octocat/hello-world /users/octocat/repos /rate_limit; do
    curl -s -o /dev/null "http://127.0.0.1:$port$path"
  done
  peak_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  kill -INT "$pid"
  wait "$pid" 2>/dev/null || true
  echo "run $run: first answer (GET /meta -> $code) after ${first} ms, peak RSS $((peak_kb / 1024)) MB"
  runs+=("$first")
done
printf 'median first answer: %s ms\n' "$(printf '%s\n' "${runs[@]}" | median)"

target/release/specmock serve --spec "$spec" --port "$port" --quiet --strict >/dev/null 2>&1 &
pid=$!
until curl -s -o /dev/null "http://127.0.0.1:$port/meta"; do sleep 0.05; done
echo "every operation, strict: $(target/release/specmock verify --spec "$spec" --base-url "http://127.0.0.1:$port" | tail -n 1)"
kill -INT "$pid"
wait "$pid" 2>/dev/null || true
