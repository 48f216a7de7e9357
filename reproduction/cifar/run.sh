#!/usr/bin/env bash
# The CIFAR-10 reproduction at the paper's settings (75 epochs, batch 128, Adam 1e-3, failout survival
# 0.9, augmentation, partition setting 1, seed 0) on all 60,000 images of ../shared/data, resumable at
# the epoch: kill it at any time and start it again with the same arguments. ResNet-18 first, then
# MobileNet, then ResNet-18's iterations 2 and 3. After each phase it stores a snapshot (snapshot.sh).
#   usage: bash reproduction/cifar/run.sh DATA [WORK_DIR [FLAG ...]]
# DATA: cifar10-jpg.tar.gz or its unpacked folder (give the same path every time: resuming checks it);
# WORK_DIR (default reproduction/cifar/work): where results/ and models/ go;
# FLAGs go to every script (flags that change results are refused on resume).
# On a new machine (WORK_DIR without results), what snapshot.sh stored is put back where the run had
# it: each results file and its training logs, and the state of the training in progress (state/),
# so the run continues at the epoch of the last snapshot --with-state.
set -u
repository=$(cd "$(dirname "$0")/../.." && pwd)
data=$1
work=${2:-$repository/reproduction/cifar/work}
shift $(( $# < 2 ? $# : 2 ))
flags=("$@")
mkdir -p "$work" && cd "$work" || exit 2
restore() {  # the stored runs, into the folders their results files name
  local stored name json weights_dir logs state target
  for stored in "$repository"/reproduction/cifar/results/cifar_*.json.gz; do
    [ -e "$stored" ] || continue
    name=$(basename "$stored" .json.gz)
    [ -e "results/$name.json" ] && continue
    mkdir -p results && gunzip -c "$stored" > "results/$name.json"
    json="results/$name.json"
    weights_dir=$(python -c "import json; print(json.load(open('$json'))['run']['weights_dir'])")
    logs=$(python -c "import json; print(json.load(open('$json'))['run']['training_logs'])")
    mkdir -p "$weights_dir" "$logs" && cp -rn "$repository/reproduction/cifar/results/$name/." "$logs/" 2>/dev/null
    for state in "$repository/reproduction/cifar/state/$name"/*.training.npz.gz; do
      target=$weights_dir/$(basename "$state" .gz)
      [ -e "$state" ] && [ ! -e "$target" ] && gunzip -c "$state" > "$target.partial" && mv "$target.partial" "$target"
    done
    echo "restored $name from reproduction/cifar/"
  done
}
restore
phase() {  # script iterations
  local resume=""
  ls results/$1_*.json >/dev/null 2>&1 && resume=--resume=latest
  echo "=== $(date -u +%FT%TZ) $1 --iterations=$2 $resume"
  python "$repository/Experiment/$1.py" --data_dir="$data" --verbose=0 --iterations="$2" \
    --results_dir="$work/results" --models_dir="$work/models" $resume "${flags[@]}" || exit $?
  bash "$repository/reproduction/cifar/snapshot.sh" "$work"
}
phase cifar_resnet_average_accuracy 1
phase cifar_mobilenet_average_accuracy 1
phase cifar_resnet_average_accuracy 3
