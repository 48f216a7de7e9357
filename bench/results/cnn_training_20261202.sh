#!/bin/bash
# The bench run of 2026-12-02 (output: cnn_training_20261202.txt). CIFAR_PID: a training run to pause
# meanwhile (optional).
cd "$(dirname "$0")/../.." && . .venv/bin/activate
F='^I0000\|WARNING: All\|oneDNN\|cpu_feature\|To enable\|^WARNING\|^E0000\|^W0000'
[ -n "${CIFAR_PID:-}" ] && kill -STOP "$CIFAR_PID"
echo "=== $(date -u +%T) TF, all levers"
python bench/bench_cnn_training.py --samples=512 --repeats=3 2>&1 | grep -v "$F"
for round in 1 2; do
  for t in 0 1; do
    echo "=== $(date -u +%T) TF threads inter=$t round $round"
    python bench/bench_cnn_training.py --samples=512 --repeats=2 --kinds=Vanilla --levers=default --layers=false --inter_op_threads=$t --intra_op_threads=$((t*2)) 2>&1 | grep -v "$F"
  done
done
echo "=== $(date -u +%T) JAX"
KERAS_BACKEND=jax python bench/bench_cnn_training.py --samples=256 --repeats=2 --kinds=Vanilla,ResiliNet --levers=default,no_augment --layers=false 2>&1 | grep -v "$F"
echo "=== $(date -u +%T) done"
[ -n "${CIFAR_PID:-}" ] && kill -CONT "$CIFAR_PID"
