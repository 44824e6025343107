#!/usr/bin/env bash
# Recorded clicks through the local gateway (embedded store, release build) against a bare
# hyper 302 server, in the same run, with the same wrk load (KakaoTalk's in-app user agent, so
# every request is a recorded click on a personal link): throughput and p99 on one link and
# spread over 10^4 links, then a soak to 10^6 recorded clicks with the gateway's memory
# sampled along the way, and the data file. Figures, not pass/fail: a missed goal says MISSED.
#
#   tests/bench/redirect.sh GATEWAY_BIN MCAMP_BIN BARE302_BIN [SECONDS] [SOAK_CLICKS]
set -euo pipefail
gateway=$1 mcamp=$2 bare=$3 secs=${4:-20} soak=${5:-1000000}
links=10000
ua='Mozilla/5.0 (Linux; Android 13; SM-S918N Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36;KAKAOTALK 2410700'
if ! command -v wrk >/dev/null; then
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y -qq wrk >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null; }
fi
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
cmd="tests/bench/redirect.sh"

# A random one of the links in $CODES per request.
cat >"$dir/spread.lua" <<'EOF'
local codes = {}
for line in io.lines(os.getenv("CODES")) do codes[#codes + 1] = line end
math.randomseed(os.time())
request = function() return wrk.format("GET", "/" .. codes[math.random(#codes)]) end
EOF

# wrk's "Requests/sec", its request count and its p99 in ms. $1 URL, $2 seconds, $3 optional script.
load() {
  local script=()
  [ -n "${3:-}" ] && script=(-s "$3")
  wrk -t1 -c32 -d"$2s" --latency "${script[@]}" -H "User-Agent: $ua" "$1" >"$dir/wrk.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")
  requests=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v=v*1000}; print v}' "$dir/wrk.txt")
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# 10^4 recipients of the demo campaign, imported with the CLI as a marketer would, and their links.
data="$dir/data/mcamp.db"
"$mcamp" --data "$data" campaign push examples/demo/campaign.yaml >/dev/null
awk -v n="$links" 'BEGIN { print "이름,휴대폰,마케팅동의,동의일자"; for (i = 0; i < n; i++) printf "고객%d,010-%04d-%04d,Y,2026-01-15\n", i, 2000 + int(i / 10000), i % 10000 }' >"$dir/recipients.csv"
"$mcamp" --data "$data" recipients import spring-demo "$dir/recipients.csv" >/dev/null
"$mcamp" --data "$data" links export spring-demo --base-url http://127.0.0.1:38098 --allow-night -o "$dir/sendlist.csv" >/dev/null
grep -oE '127.0.0.1:38098/[A-Za-z0-9]{10}' "$dir/sendlist.csv" | cut -d/ -f2 | sort -u >"$dir/codes.txt"
[ "$(wc -l <"$dir/codes.txt")" -ge "$links" ] || { echo "bench: redirect: only $(wc -l <"$dir/codes.txt") links exported"; exit 1; }

"$gateway" --port 38098 --data "$data" --seed examples/demo >"$dir/gateway.log" 2>&1 &
pids+=($!)
gw=$!
for _ in $(seq 100); do grep -qE '127.0.0.1:38098/[A-Za-z0-9]{10}' "$dir/gateway.log" && break; sleep 0.2; done
code=$(grep -m1 -oE '127.0.0.1:38098/[A-Za-z0-9]{10}' "$dir/gateway.log" | cut -d/ -f2)
[ -n "$code" ] || { echo "bench: redirect: the gateway printed no demo link"; cat "$dir/gateway.log"; exit 1; }
rss0=$(rss_kb "$gw")
echo "$rss0" >"$dir/rss.txt"

load "http://127.0.0.1:38098/$code" "$secs"
one_rps=$rps one_p99=$p99 clicks=$requests
CODES="$dir/codes.txt" load "http://127.0.0.1:38098/" "$secs" "$dir/spread.lua"
spread_rps=$rps spread_p99=$p99 clicks=$((clicks + requests))

# The soak: spread clicks until $soak are recorded, the gateway's RSS sampled every 5 s.
left=$((soak - clicks))
soak_secs=$(awk -v l="$left" -v r="$spread_rps" 'BEGIN { s = int(l / r * 1.03) + 1; print (s < 1 ? 1 : s) }')
(while kill -0 "$gw" 2>/dev/null; do rss_kb "$gw" >>"$dir/rss.txt" || true; sleep 5; done) &
pids+=($!)
if [ "$left" -gt 0 ]; then
  CODES="$dir/codes.txt" load "http://127.0.0.1:38098/" "$soak_secs" "$dir/spread.lua"
  clicks=$((clicks + requests))
fi
rss1=$(rss_kb "$gw")
rss_max=$(sort -n "$dir/rss.txt" | tail -1)
# Flat: the last quarter's samples against the second quarter's.
rss_trend=$(awk '{ v[NR] = $1 } END { q = int(NR / 4); if (q < 1) { print 0; exit } a = 0; b = 0; for (i = q + 1; i <= 2 * q; i++) a += v[i]; for (i = NR - q + 1; i <= NR; i++) b += v[i]; print (b - a) / q / 1024 }' "$dir/rss.txt")
kill "$gw"
wait "$gw" 2>/dev/null || true
data_bytes=$(du -sb "$dir/data" | cut -f1)

"$bare" 38099 &
pids+=($!)
sleep 0.5
load "http://127.0.0.1:38099/x" "$secs"
bare_rps=$rps bare_p99=$p99

awk -v o="$one_rps" -v op="$one_p99" -v s="$spread_rps" -v sp="$spread_p99" -v b="$bare_rps" -v bp="$bare_p99" \
    -v n="$clicks" -v r0="$rss0" -v r1="$rss1" -v rm="$rss_max" -v rt="$rss_trend" -v d="$data_bytes" \
    -v cmd="$cmd" -v secs="$secs" 'BEGIN {
  why = " (two durable SQLite commits per click and their checkpoints; docs/performance.md)"
  printf "bench: redirect, one link: recorded clicks/s | %.0f (%.1f%% of bare 302 %.0f req/s) | >= 50%% of bare: %s | %s\n", o, 100 * o / b, b, (100 * o / b >= 50 ? "ok" : "MISSED" why), cmd
  printf "bench: redirect, one link: p99 at -c32 | %.2f ms | <= 2 ms: %s | %s\n", op, (op <= 2 ? "ok" : "MISSED" why), cmd
  printf "bench: redirect, spread over 10^4 links: recorded clicks/s | %.0f (%.1f%% of bare) | >= 50%% of bare: %s | %s\n", s, 100 * s / b, (100 * s / b >= 50 ? "ok" : "MISSED" why), cmd
  printf "bench: redirect, spread over 10^4 links: p99 at -c32 | %.2f ms | <= 2 ms: %s | %s\n", sp, (sp <= 2 ? "ok" : "MISSED" why), cmd
  printf "bench: bare hyper 302 (same run): req/s, p99 | %.0f, %.2f ms | reference | %s\n", b, bp, cmd
  printf "bench: gateway RSS after %d recorded clicks | %.0f MB (start %.0f, max %.0f, last quarter %+.1f MB vs second) | <= 256 MB, flat: %s | %s\n", n, r1 / 1024, r0 / 1024, rm / 1024, rt, ((rm / 1024 <= 256 && rt < 16) ? "ok" : "MISSED"), cmd
  printf "bench: data file after %d clicks (10^4 links) | %.0f MB (%.0f bytes/click) | none | %s\n", n, d / 1e6, d / n, cmd
}'
