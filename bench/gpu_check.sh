#!/usr/bin/env bash
# The GPU figure of the CIFAR-10 MobileNet: training images/s of Vanilla and ResiliNet MobileNet v1 at the paper's
# settings (alpha 0.75, batch 128, augmentation on, partition setting 1) with KERAS_BACKEND=jax, through
# bench/bench_cifar.py (tracing excluded, the two models alternate, each one's fastest epoch counts).
#   usage: bash bench/gpu_check.sh [SAMPLES [REPEATS]]     (defaults 25600 images an epoch, 3 timed epochs each)
# Made for a machine with a GPU, JAX and no package index, such as the device tool's: Keras and the two packages it
# needs that such a machine may lack travel as wheels in .whl/ (ignored by git), fetched beforehand where pip works:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl keras==3.15.1 namex==0.1.0 optree==0.20.0      (2.8 MB)
# and the device tool's run given command `bash bench/gpu_check.sh` and carry [".whl"]. Where Keras is importable
# already, .whl/ is not needed. Prints the GPU, the versions and the two rates.
set -eu
samples=${1:-25600}
repeats=${2:-3}
cd "$(dirname "$0")/.."
if ! python3 -c "import keras" 2>/dev/null; then
  [ -d .whl ] || { echo "bench/gpu_check.sh: Keras is not installed and there is no .whl/ folder to install it from" >&2; exit 2; }
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), '| keras', keras.__version__)"
python3 bench/bench_cifar.py --samples="$samples" --repeats="$repeats" --batch_size=128 --alpha=0.75
