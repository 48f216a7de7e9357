"""Constants, data and models of the camera (multi-view multi-camera) experiments.

Every UPPER_CASE constant here is a default that a script's --key=value flag can override for
one run (see `python Experiment/camera_average_accuracy.py --help`).
"""

import mlp_ResiliNet_camera
import mlp_Vanilla_camera

from resilinet.core.paper_topologies import CAMERA
from resilinet.data.camera import load_camera
from resilinet.data.definition import DatasetDefinition

EPOCHS = 50
BATCH_SIZE = 64
ITERATIONS = 10
FAILOUT_SURVIVAL_RATE = 0.8
SEED = 0  # each (iteration, variant) trains with a seed drawn from SEED, the iteration and the variant
EVALUATE_SAVED = False  # True: evaluate the weights saved in models/ instead of training

# Alive probability of [fog1, fog2, fog3, fog4, edge1, edge2, edge3, edge4].
RELIABILITY_SETTINGS = {
    "no failure": (1.0,) * 8,
    "normal": (0.99,) * 4 + (0.98,) * 4,
    "poor": (0.95, 0.95, 0.9, 0.9, 0.8, 0.8, 0.75, 0.75),
    "hazardous": (0.8, 0.8, 0.75, 0.75, 0.7, 0.7, 0.65, 0.65),
}

DATA_DIR = ""  # the multiview-dataset folder or its .tar.gz ($RESILINET_CAMERA_DATA, if set, replaces it)
CACHE_DIR = "data/camera"  # where a .tar.gz is unpacked


def load_data(config):
    return load_camera(config.data_dir, config.cache_dir)


DATASET = DatasetDefinition(
    name="camera",
    topology=CAMERA,
    reliability_settings=RELIABILITY_SETTINGS,
    defaults={
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "iterations": ITERATIONS,
        "seed": SEED,
        "evaluate_saved": EVALUATE_SAVED,
        "failout_survival_rate": FAILOUT_SURVIVAL_RATE,
        "resilinet_plus": mlp_ResiliNet_camera.ResiliNetPlus,
        "data_dir": DATA_DIR,
        "cache_dir": CACHE_DIR,
    },
    load_data=load_data,
    architecture=lambda config: mlp_Vanilla_camera.camera_architecture(),
    metric="micro_f1",
    balanced_class_weight=True,
    constants_file=__file__,
)
