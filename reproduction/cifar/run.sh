#!/usr/bin/env bash
# The CIFAR-10 reproduction at the paper's settings (75 epochs, batch 128, Adam 1e-3, failout survival
# 0.9, augmentation, partition setting 1, seed 0) on all 60,000 images of ../shared/data, resumable at
# the epoch: kill it at any time and start it again with the same arguments. ResNet-18 first, then
# MobileNet, then ResNet-18's iterations 2 and 3. After each phase it stores a snapshot (snapshot.sh).
#   usage: bash reproduction/cifar/run.sh DATA [WORK_DIR [FLAG ...]]
# DATA: cifar10-jpg.tar.gz or its unpacked folder (give the same path every time: resuming checks it);
# WORK_DIR (default reproduction/cifar/work): where results/ and models/ go;
# FLAGs go to every script (flags that change results are refused on resume).
# On a new machine (WORK_DIR without results, any path), restore.sh first puts back what snapshot.sh stored:
# each results file and its training logs, and the state of the training in progress (state/),
# so the run continues at the epoch of the last snapshot --with-state; it does the same over a WORK_DIR that an
# earlier session left behind where the stored run has gone further (stored_ahead.py).
set -u
repository=$(cd "$(dirname "$0")/../.." && pwd)
data=$1
work=${2:-$repository/reproduction/cifar/work}
shift $(( $# < 2 ? $# : 2 ))
flags=("$@")
mkdir -p "$work" && work=$(cd "$work" && pwd) && cd "$work" || exit 2
bash "$repository/reproduction/cifar/restore.sh" "$work" || exit 2
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
