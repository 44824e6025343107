#!/usr/bin/env bash
# The one table of `make bench` (bench-out/summary.txt, pasted into docs/performance.md): every
# `bench: ` line of the given logs, in order, as a Markdown table row, under a header line with
# the date, the commit and the machine.
#
#   tests/bench/table.sh LOG...
#
# A line `bench: <figure> | <value> | <goal: verdict> | <command>` fills the four columns (a value
# that itself holds ` | ` keeps it); any other `bench: ` line (the free format of an older bench,
# or `bench: X FAILED: …`) goes in whole as the figure, other columns empty. A `|` inside a cell
# is escaped for Markdown. The last line counts the rows, those with a goal MISSED and the
# FAILED ones.
# Exit status 0 unless called without a log: the table reports, the benches fail.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 LOG..." >&2; exit 2; }

logs=()
for f in "$@"; do
  if [ -r "$f" ]; then logs+=("$f"); else echo "table.sh: no log $f, skipped" >&2; fi
done

commit=$(git rev-parse --short HEAD 2>/dev/null || echo "no git")
if [ "$commit" != "no git" ] && ! git diff --quiet HEAD -- 2>/dev/null; then
  commit="$commit + uncommitted changes"
fi
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "mcamp bench $(date -u +%Y-%m-%dT%H:%M:%SZ), $commit, $(nproc) cores${cpu:+ ($cpu)}"
echo
echo "| figure | value | goal | command |"
echo "| --- | --- | --- | --- |"
[ ${#logs[@]} -gt 0 ] || { echo; echo "0 rows (no log)"; exit 0; }
awk '
function cell(s) {
  gsub(/^[ \t]+|[ \t\r]+$/, "", s)
  gsub(/\|/, "\\|", s)
  return s
}
/^bench: / {
  line = substr($0, 8)
  n = split(line, f, / \| /)
  if (n >= 4) {
    figure = f[1]; value = f[2]; goal = f[n - 1]; command = f[n]
    for (i = 3; i < n - 1; i++) value = value " | " f[i]
  } else {
    figure = line; value = ""; goal = ""; command = ""
  }
  rows++
  if (figure ~ /FAILED/) failed++
  else if (line ~ /MISSED/) missed++
  printf "| %s | %s | %s | %s |\n", cell(figure), cell(value), cell(goal), cell(command)
}
END {
  printf "\n%d rows: %d with a goal MISSED, %d FAILED\n", rows, missed, failed
}' "${logs[@]}"
