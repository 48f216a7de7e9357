#!/usr/bin/env bash
# The camera reproduction at the paper's settings (50 epochs, batch 64, failout survival 0.8),
# resumable: each phase extends the same results file with --resume=latest, so the script can be
# killed and started again at any time, and a later phase raises the iteration count.
#   usage: bash reproduction/camera/run.sh DATA_DIR [WORK_DIR [FLAG ...]]
# DATA_DIR: the unpacked multiview-dataset folder (give the same path every time: resuming checks it);
# WORK_DIR (default reproduction/camera/work): where results/ and models/ go;
# FLAGs go to every experiment script, e.g. --workers=2 (flags that change results are refused on resume).
set -u
repository=$(cd "$(dirname "$0")/../.." && pwd)
data_dir=$1
work=${2:-$repository/reproduction/camera/work}
shift $(( $# < 2 ? $# : 2 ))
flags=("$@")
mkdir -p "$work" && cd "$work" || exit 2
phase() {  # experiment iterations [FLAG ...]
  local resume=""
  ls results/camera_$1_*.json >/dev/null 2>&1 && resume=--resume=latest
  echo "=== $(date -u +%FT%TZ) camera_$1 --iterations=$2 ${*:3} $resume"
  python "$repository/Experiment/camera_$1.py" --data_dir="$data_dir" --verbose=0 --iterations="$2" "${@:3}" $resume \
    "${flags[@]}" || exit $?
}
phase average_accuracy 10
phase failout_rate 2
phase skiphyperconnection_sensitivity 2
phase hyperconnection_weight 1
for iterations in 3 4 5; do
  phase failout_rate $iterations
  phase skiphyperconnection_sensitivity $iterations
done
phase hyperconnection_weight 3
python "$repository/Experiment/report.py" results/camera_*.json --out="$repository/reproduction/camera"
# ResiliNet+ (failout, with weighted sums where ResiliNet has multiplexers) beside Vanilla and DFG: a run of its own,
# in a work folder of its own (its results are not pooled with the runs above), reported in a folder of its own
mkdir -p "$work/resilinet_plus" && cd "$work/resilinet_plus" || exit 2
phase average_accuracy 5 --resilinet_plus=true
python "$repository/Experiment/report.py" results/camera_*.json --out="$repository/reproduction/camera_resilinet_plus"
