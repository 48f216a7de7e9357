#!/usr/bin/env bash
# Put what snapshot.sh stored under reproduction/cifar/ back into WORK_DIR (any path), where run.sh's resume looks
# for it: the training logs and the state of the training in progress of each stored run, then its results file,
# each file whole (written beside, then renamed). A run whose results file WORK_DIR holds is restored already.
#   usage: bash reproduction/cifar/restore.sh WORK_DIR
set -u
repository=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1/results" && work=$(cd "$1" && pwd) || exit 2
for stored in "$repository"/reproduction/cifar/results/cifar_*.json.gz; do
  [ -e "$stored" ] || continue
  name=$(basename "$stored" .json.gz)
  json=$work/results/$name.json
  [ -e "$json" ] && continue
  weights_dir="" logs=""
  { read -r weights_dir && read -r logs; } < <(python "$repository/reproduction/cifar/run_folders.py" "$stored" "$work")
  [ -n "${logs:-}" ] && mkdir -p "$weights_dir" "$logs" || exit 2
  cp -rn "$repository/reproduction/cifar/results/$name/." "$logs/" 2>/dev/null
  for state in "$repository/reproduction/cifar/state/$name"/*.training.npz.gz; do
    [ -e "$state" ] || continue
    target=$weights_dir/$(basename "$state" .gz)
    [ -e "$target" ] || { gunzip -c "$state" > "$target.partial" && mv "$target.partial" "$target"; } || exit 2
  done
  # the results file last: it marks the run restored whole
  gunzip -c "$stored" > "$json.partial" && mv "$json.partial" "$json" || exit 2
  echo "restored $name from reproduction/cifar/"
done
