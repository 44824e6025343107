#!/bin/bash
# Full benchmark matrix. Every run: 10^4 links preloaded, 10^6 recorded clicks (capped at 150 s).
cd /work/dbbench
B="nice -n 10 target/release/dbbench"
for e in sqlite fjall redb; do
  for hot in "" "--hot"; do
    $B bench --engine $e $hot --dir data/run --label full
    $B bench --engine $e $hot --async --dir data/run --label full
  done
done
# redb without fsync per commit (NOT crash-safe, CPU reference only)
$B bench --engine redb --no-durable --dir data/run --label full-nondurable
$B bench --engine redb --no-durable --async --dir data/run --label full-nondurable
rm -rf data/run
# crash durability: kill -9 mid-load, 3 rounds each
for e in sqlite fjall redb; do
  $B crash --engine $e --dir data/crash --batch 1 --tasks 1
  $B crash --engine $e --dir data/crash --async --batch 256 --tasks 32
done
# negative controls (expected to lose acked writes)
$B crash --engine fjall --no-durable --dir data/crash --async --batch 256 --tasks 32
$B crash --engine redb --no-durable --dir data/crash --async --batch 256 --tasks 32
echo ALLDONE
