#!/usr/bin/env bash
# Store what the CIFAR runs in WORK_DIR hold so far under reproduction/cifar/: each results file
# gzip-compressed with its training logs (results/), and the reports with their figures (for runs
# with at least one finished model). Safe to call while a run trains.
#   usage: bash reproduction/cifar/snapshot.sh [WORK_DIR]
set -u
repository=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$repository/reproduction/cifar/work}
out=$repository/reproduction/cifar
mkdir -p "$out/results"
reportable=()
for json in "$work"/results/cifar_*.json; do
  [ -e "$json" ] || continue
  name=$(basename "$json" .json)
  gzip -c "$json" > "$out/results/$name.json.gz"
  rm -rf "$out/results/$name" && cp -r "$work/results/$name" "$out/results/$name" 2>/dev/null
  python -c "import json, sys; sys.exit(0 if json.load(open('$json'))['records'] else 1)" && reportable+=("$json")
done
if [ ${#reportable[@]} -gt 0 ]; then
  python "$repository/Experiment/report.py" "${reportable[@]}" --out="$out" >/dev/null
fi
