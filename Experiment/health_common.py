"""Constants, data and models of the health (MHEALTH) experiments.

Every UPPER_CASE constant here is a default that a script's --key=value flag can override for
one run (see `python Experiment/health_average_accuracy.py --help`).
"""

import mlp_ResiliNet_health
import mlp_Vanilla_health

from resilinet.core.paper_topologies import HEALTH
from resilinet.data.definition import DatasetDefinition
from resilinet.data.health import MHEALTH_URL, SPLITS, load_mhealth, split_health

EPOCHS = 50
BATCH_SIZE = 1024
ITERATIONS = 10
FAILOUT_SURVIVAL_RATE = 0.9
SEED = 0  # each (iteration, variant) trains with a seed drawn from SEED, the iteration and the variant
EVALUATE_SAVED = False  # True: evaluate the weights saved in models/ instead of training

# Alive probability of [fog1, fog2, edge].
RELIABILITY_SETTINGS = {
    "no failure": (1.0, 1.0, 1.0),
    "normal": (0.99, 0.96, 0.92),
    "poor": (0.95, 0.91, 0.87),
    "hazardous": (0.85, 0.80, 0.78),
}

DATA_DIR = ""  # a local copy (folder or zip); empty: download ($RESILINET_HEALTH_DATA, if set, replaces it)
CACHE_DIR = "data/mhealth"  # where a download is kept
MHEALTH_DOWNLOAD_URL = MHEALTH_URL
VERIFY_CHECKSUMS = True
TRUNCATE_SENSOR_VALUES = False  # True: the original's integer-formatted merge
DROP_FIRST_ROW = False  # True: the original reader's header quirk
SPLIT = "rows"  # "rows": the paper's shuffled-row split; "subjects": train 1-8, val 9, test 10


def load_data(config):
    x, y, subject = load_mhealth(config.data_dir, config.cache_dir, config.mhealth_download_url,
                                 config.verify_checksums, config.truncate_sensor_values, config.drop_first_row)
    return split_health(x, y, subject, config.split)


DATASET = DatasetDefinition(
    name="health",
    topology=HEALTH,
    reliability_settings=RELIABILITY_SETTINGS,
    defaults={
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "iterations": ITERATIONS,
        "seed": SEED,
        "evaluate_saved": EVALUATE_SAVED,
        "failout_survival_rate": FAILOUT_SURVIVAL_RATE,
        "partition_setting": mlp_Vanilla_health.PARTITION_SETING,
        "resilinet_plus": mlp_ResiliNet_health.ResiliNetPlus,
        "data_dir": DATA_DIR,
        "cache_dir": CACHE_DIR,
        "mhealth_download_url": MHEALTH_DOWNLOAD_URL,
        "verify_checksums": VERIFY_CHECKSUMS,
        "truncate_sensor_values": TRUNCATE_SENSOR_VALUES,
        "drop_first_row": DROP_FIRST_ROW,
        "split": SPLIT,
    },
    load_data=load_data,
    architecture=lambda config: mlp_Vanilla_health.health_architecture(config.partition_setting),
    choices={"partition_setting": tuple(mlp_Vanilla_health.LAYERS_PER_NODE), "split": SPLITS},
    constants_file=__file__,
    constant_files={"partition_setting": mlp_Vanilla_health.__file__},
)
