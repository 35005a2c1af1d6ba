# Helpers shared by the load benchmarks; sourced, not run.

# now_ms: wall-clock milliseconds.
now_ms() { date +%s%3N; }
# to_ms "1.23ms" | "850.00us" | "1.2s" -> milliseconds, as wrk prints latencies.
to_ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'; }
# median: the middle of the numbers on standard input.
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
