#!/usr/bin/env bash
# Put what snapshot.sh stored under reproduction/cifar/ back into WORK_DIR (any path), where run.sh's resume looks
# for it: the training logs and the state of the training in progress of each stored run, then its results file,
# each file whole (written beside, then renamed). A run whose results file WORK_DIR holds is restored already, unless
# the stored run has gone further (stored_ahead.py: an earlier session's copy left on this machine): it is put back over it.
#   usage: bash reproduction/cifar/restore.sh WORK_DIR
set -u
repository=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1/results" && work=$(cd "$1" && pwd) || exit 2
for stored in "$repository"/reproduction/cifar/results/cifar_*.json.gz; do
  [ -e "$stored" ] || continue
  name=$(basename "$stored" .json.gz)
  json=$work/results/$name.json
  replace="" clobber=-n  # replace: WORK_DIR holds an earlier session's copy of the run, which the stored one has gone past
  if [ -e "$json" ]; then
    why=$(python "$repository/reproduction/cifar/stored_ahead.py" "$stored" "$work")
    case $? in
      0) replace=yes clobber=-f ;;
      1) continue ;;
      *) exit 2 ;;
    esac
    echo "$name: the run stored under reproduction/cifar/ is ahead of $work's ($why): putting it back"
  fi
  weights_dir="" logs=""
  { read -r weights_dir && read -r logs; } < <(python "$repository/reproduction/cifar/run_folders.py" "$stored" "$work")
  [ -n "${logs:-}" ] && mkdir -p "$weights_dir" "$logs" || exit 2
  cp -r "$clobber" "$repository/reproduction/cifar/results/$name/." "$logs/" 2>/dev/null
  for state in "$repository/reproduction/cifar/state/$name"/*.training.npz.gz; do
    [ -e "$state" ] || continue
    target=$weights_dir/$(basename "$state" .gz)
    [ -e "$target" ] && [ -z "$replace" ] && continue
    { gunzip -c "$state" > "$target.partial" && mv "$target.partial" "$target"; } || exit 2
  done
  # the results file last: it marks the run restored whole
  gunzip -c "$stored" > "$json.partial" && mv "$json.partial" "$json" || exit 2
  echo "restored $name from reproduction/cifar/"
done
