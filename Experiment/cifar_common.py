"""Constants, data and models of the CIFAR-10 experiments (MobileNet v1 and ResNet-18).

Every UPPER_CASE constant here is a default that a script's --key=value flag can override for
one run (see `python Experiment/cifar_mobilenet_average_accuracy.py --help`).
"""

import cnn_ResiliNet_MobileNet
import cnn_ResiliNet_ResNet
import cnn_Vanilla_MobileNet
import cnn_Vanilla_ResNet

from resilinet.core.paper_topologies import CNN
from resilinet.data.cifar import load_data as load_cifar10_data
from resilinet.data.definition import DatasetDefinition
from resilinet.networks.partitions import MOBILENET as MOBILENET_PARTITIONS
from resilinet.networks.partitions import RESNET as RESNET_PARTITIONS

EPOCHS = 75
BATCH_SIZE = 128
ITERATIONS = 1  # the original's CNN runs trained once; raise it for a mean and std over iterations
FAILOUT_SURVIVAL_RATE = 0.9
SEED = 0  # each (iteration, variant) trains with a seed drawn from SEED, the iteration and the variant
EVALUATE_SAVED = False  # True: evaluate the weights saved in models/ instead of training

# Alive probability of [fog, edge].
RELIABILITY_SETTINGS = {
    "no failure": (1.0, 1.0),
    "normal": (0.98, 0.96),
    "poor": (0.95, 0.90),
    "hazardous": (0.85, 0.80),
}

# A folder with train/<class>/*.jpg and test/<class>/*.jpg, or its .tar.gz; empty: keras.datasets.cifar10.
# $RESILINET_CIFAR_DATA, if set, replaces it.
DATA_DIR = ""
AUGMENT = True  # rotation 30 degrees, width/height shift 0.2, horizontal flip; in training only
MIXED_PRECISION = False  # mixed_float16: for GPUs with float16 units
DISTRIBUTE = "auto"  # auto: MirroredStrategy (TensorFlow) or DataParallel (JAX) over 2+ GPUs; on; off


def load_data(config):
    return load_cifar10_data(config.data_dir)


COMMON_DEFAULTS = {
    "epochs": EPOCHS,
    "batch_size": BATCH_SIZE,
    "iterations": ITERATIONS,
    "seed": SEED,
    "evaluate_saved": EVALUATE_SAVED,
    "failout_survival_rate": FAILOUT_SURVIVAL_RATE,
    "data_dir": DATA_DIR,
    "augment": AUGMENT,
    "mixed_precision": MIXED_PRECISION,
    "distribute": DISTRIBUTE,
}

CIFAR_MOBILENET = DatasetDefinition(
    name="cifar_mobilenet",
    topology=CNN,
    reliability_settings=RELIABILITY_SETTINGS,
    defaults={
        **COMMON_DEFAULTS,
        "partition_setting": cnn_Vanilla_MobileNet.PARTITION_SETING,
        "resilinet_plus": cnn_ResiliNet_MobileNet.ResiliNetPlus,
        "alpha": cnn_Vanilla_MobileNet.ALPHA,
    },
    load_data=load_data,
    architecture=lambda config: cnn_Vanilla_MobileNet.mobilenet_architecture(
        config.partition_setting, alpha=config.alpha, augment=config.augment),
    model_name="MobileNet",
    choices={"partition_setting": tuple(MOBILENET_PARTITIONS)},
    constants_file=__file__,
    constant_files={"partition_setting": cnn_Vanilla_MobileNet.__file__, "alpha": cnn_Vanilla_MobileNet.__file__},
)

CIFAR_RESNET = DatasetDefinition(
    name="cifar_resnet",
    topology=CNN,
    reliability_settings=RELIABILITY_SETTINGS,
    defaults={
        **COMMON_DEFAULTS,
        "partition_setting": cnn_Vanilla_ResNet.PARTITION_SETING,
        "resilinet_plus": cnn_ResiliNet_ResNet.ResiliNetPlus,
    },
    load_data=load_data,
    architecture=lambda config: cnn_Vanilla_ResNet.resnet_architecture(config.partition_setting,
                                                                       augment=config.augment),
    model_name="ResNet18",
    choices={"partition_setting": tuple(RESNET_PARTITIONS)},
    constants_file=__file__,
    constant_files={"partition_setting": cnn_Vanilla_ResNet.__file__},
)
