#!/usr/bin/env bash
# Store what the CIFAR runs in WORK_DIR hold so far under reproduction/cifar/: each results file
# gzip-compressed with its training logs (results/), and the reports with their figures (for runs
# with at least one finished model). With --with-state, also the saved state of the training in
# progress (state/, ~170 MB for ResNet-18), so that run.sh on a new machine continues at its epoch; the
# states of finished models are not stored again. gzip -n: the same content gives the same bytes.
# Safe to call while a run trains. A snapshot that adds records changes the scores that README.md and
# docs/results.md show: `python -m pytest -q tests/test_results_page.py` says which cells to bring up to date.
#   usage: bash reproduction/cifar/snapshot.sh [WORK_DIR] [--with-state]
set -u
repository=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$repository/reproduction/cifar/work}
with_state=${2:-}
out=$repository/reproduction/cifar
mkdir -p "$out/results"
reportable=()
for json in "$work"/results/cifar_*.json; do
  [ -e "$json" ] || continue
  name=$(basename "$json" .json)
  # each file whole or not at all: written beside, then renamed
  gzip -n -c "$json" > "$out/results/$name.json.gz.partial" && mv "$out/results/$name.json.gz.partial" "$out/results/$name.json.gz"
  if [ -d "$work/results/$name" ]; then
    rm -rf "$out/results/$name.partial" && cp -r "$work/results/$name" "$out/results/$name.partial" \
      && rm -rf "$out/results/$name" && mv "$out/results/$name.partial" "$out/results/$name"
  fi
  python -c "import json, sys; sys.exit(0 if json.load(open('$json'))['records'] else 1)" && reportable+=("$json")
  if [ "$with_state" = --with-state ]; then
    folders=$(python "$repository/reproduction/cifar/run_folders.py" "$json" "$work") || exit 2
    weights_dir=${folders%%$'\n'*}
    # States stored before are kept (a finished model's is then unused: its record is in the results):
    # deleting a stored state would count its size again against a submission's diff limit.
    for state in "$weights_dir"/*.training.npz; do
      [ -e "$state" ] || continue
      # a finished model's state (put back by run.sh, never read again) is not stored anew
      model=$(basename "$state" .training.npz)
      python -c "import json, sys; sys.exit(0 if any(f\"{r['variant']}_iter{r['iteration']}\" == '$model'
                 for r in json.load(open('$json'))['records']) else 1)" && continue
      mkdir -p "$out/state/$name" && gzip -n -1 -c "$state" > "$out/state/$name/$(basename "$state").gz.partial" \
        && mv "$out/state/$name/$(basename "$state").gz.partial" "$out/state/$name/$(basename "$state").gz"
    done
  fi
done
if [ ${#reportable[@]} -gt 0 ]; then
  python "$repository/Experiment/report.py" "${reportable[@]}" --out="$out" >/dev/null
fi
