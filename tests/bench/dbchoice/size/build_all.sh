#!/bin/bash
cd /work/dbbench/size
for c in base sqlite redb fjall; do
  (cd $c && nice -n 19 cargo fetch -q && rm -rf target && s=$(date +%s.%N) && nice -n 19 cargo build --release -j1 -q 2>&1 | tail -3; e=$(date +%s.%N); sz=$(stat -c %s target/release/size-$c); echo "$c build_secs=$(echo "$e - $s" | bc) bin_bytes=$sz load=$(cut -d' ' -f1 /proc/loadavg)")
done
echo SIZEDONE
