#!/usr/bin/env bash
# Recorded clicks through the local gateway (embedded store, release build) against a bare
# hyper 302 server, in the same run, with the same wrk load (KakaoTalk's in-app user agent, so
# every request is a recorded click on one personal link): throughput, p99, and the gateway's
# memory and data file before and after. Figures, not pass/fail: a missed target says MISSED.
#
#   tests/bench/redirect.sh GATEWAY_BIN BARE302_BIN [SECONDS]
set -euo pipefail
gateway=$1 bare=$2 secs=${3:-20}
ua='Mozilla/5.0 (Linux; Android 13; SM-S918N Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36;KAKAOTALK 2410700'
if ! command -v wrk >/dev/null; then
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y -qq wrk >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null; }
fi
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT

# wrk's "Requests/sec" and its p99 in ms.
load() {
  wrk -t1 -c32 -d"${secs}s" --latency -H "User-Agent: $ua" "$1" >"$dir/wrk.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")
  requests=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v=v*1000}; print v}' "$dir/wrk.txt")
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

"$gateway" --port 38098 --data "$dir/data/mcamp.db" --seed examples/demo >"$dir/gateway.log" 2>&1 &
pids+=($!)
gw=$!
for _ in $(seq 50); do grep -qE '127.0.0.1:38098/[A-Za-z0-9]{10}' "$dir/gateway.log" && break; sleep 0.2; done
code=$(grep -oE '127.0.0.1:38098/[A-Za-z0-9]{10}' "$dir/gateway.log" | head -1 | cut -d/ -f2)
[ -n "$code" ] || { echo "bench: redirect: the gateway printed no demo link"; cat "$dir/gateway.log"; exit 1; }
rss0=$(rss_kb "$gw")
load "http://127.0.0.1:38098/$code"
gw_rps=$rps gw_p99=$p99 gw_requests=$requests
rss1=$(rss_kb "$gw")
data_bytes=$(du -sb "$dir/data" | cut -f1)
kill "$gw"

"$bare" 38099 &
pids+=($!)
sleep 0.5
load "http://127.0.0.1:38099/x"
bare_rps=$rps bare_p99=$p99

awk -v g="$gw_rps" -v gp="$gw_p99" -v n="$gw_requests" -v b="$bare_rps" -v bp="$bare_p99" \
    -v r0="$rss0" -v r1="$rss1" -v d="$data_bytes" 'BEGIN {
  ratio = 100 * g / b
  printf "bench: redirect (gateway, embedded store, one link, wrk -c32): %.0f recorded clicks/s, p99 %.2f ms (target <= 2 ms: %s)\n", g, gp, (gp <= 2 ? "ok" : "MISSED")
  printf "bench: bare hyper 302, same run: %.0f req/s, p99 %.2f ms; gateway at %.1f%% of it (target >= 50%%: %s)\n", b, bp, ratio, (ratio >= 50 ? "ok" : "MISSED")
  printf "bench: gateway RSS %.0f MB -> %.0f MB over %d recorded clicks (%.0f bytes each); data file %.0f MB\n", r0/1024, r1/1024, n, (r1-r0)*1024/n, d/1e6
}'
