"""What every flag of every script means and accepts: the one table behind --help and the checks.

`FLAGS` holds each flag's meaning, allowed values (a fixed set) and range; `DATASET_FLAGS` the flags whose meaning
depends on the data set (the script name's first word). A dataset adds the allowed values of its own enumerated
flags (`DatasetDefinition.choices`). Nothing here imports Keras.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from resilinet.cli.parser import FlagSpec, Range
from resilinet.core.kinds import ModelKind
from resilinet.core.topology import WEIGHT_SCHEMES
from resilinet.data import camera, cifar, health, imagenet
from resilinet.data.definition import DatasetDefinition
from resilinet.runs.distribute import MODES

AT_LEAST_1 = Range(1)
PROBABILITY = Range(0, 1, low_open=True)

FLAGS = {
    # every script
    "epochs": FlagSpec("training epochs of each model", range=AT_LEAST_1),
    "batch_size": FlagSpec("batch size of training and evaluation (global: split over the GPUs)", range=AT_LEAST_1),
    "iterations": FlagSpec("times each model is trained and evaluated (mean and std are over these)",
                           range=AT_LEAST_1),
    "seed": FlagSpec("random seed of the run (each iteration and model is seeded from it; a deployment seeds "
                      "its failure draws and no-path guesses)", range=Range(0)),
    "evaluate_saved": FlagSpec("evaluate the weights of the run --saved_run names instead of training"),
    "saved_run": FlagSpec("the run whose saved weights --evaluate_saved=true (or a deployment) uses: its results "
                          ".json, or latest (the newest of the script in --results_dir)", not_empty=True),
    "checkpoint_seconds": FlagSpec("save the state of a training in progress after an epoch when this many seconds "
                                   "have passed since the last save (0: every epoch); a kill loses at most that, "
                                   "or one epoch if longer", range=Range(0)),
    "resume": FlagSpec("continue an interrupted run: its results .json, or latest (the newest of this script "
                       "in --results_dir); empty: a new run"),
    "no_path_guess": FlagSpec("score when no node path reaches the cloud: expected (exact accuracy of guessing by "
                              "the training label frequencies) or draw (one seeded draw, as the original code)",
                              choices=("expected", "draw")),
    "results_dir": FlagSpec("folder of the results .txt and .json files", not_empty=True),
    "models_dir": FlagSpec("folder of the trained weights, one folder per run "
                           "(<models_dir>/<script>/<run start time>/<model>_iter<N>.weights.h5)", not_empty=True),
    "distribute": FlagSpec("data-parallel training over several devices (auto: when 2 or more GPUs are visible)",
                           choices=MODES),
    "verbose": FlagSpec("Keras progress output: 0 none, 1 progress bar, 2 one line per epoch", choices=(0, 1, 2)),
    "workers": FlagSpec("models trained at the same time as Ray tasks: 1 in this process without Ray, N > 1 on "
                        "a local Ray instance (or --ray_address), 0 as many as the Ray resources allow",
                        range=Range(0)),
    "ray_address": FlagSpec("address of a running Ray cluster to run on (parallel jobs, or deployed nodes; auto: "
                            "the one this machine joined with `ray start`); empty: a local instance started and "
                            "stopped by the script"),
    "cpus_per_model": FlagSpec("CPUs reserved for each model trained in parallel", range=Range(0, low_open=True)),
    "gpus_per_model": FlagSpec("GPUs (a fraction shares one) reserved for each model trained in parallel",
                               range=Range(0)),
    "exact_max_nodes": FlagSpec("topologies with up to this many failable nodes are evaluated under every failure "
                                "combination; larger ones under the most probable, down to --mass_left",
                                range=Range(0)),
    "mass_left": FlagSpec("past --exact_max_nodes: the probability the unevaluated combinations may hold under "
                          "each setting; the expected score is then known within it (at 1 none would be evaluated)",
                          range=Range(0, 1, low_open=True, high_open=True)),
    "node_by_node": FlagSpec("evaluate each node once per alive state of the nodes it depends on (false: the whole "
                             "model once per failure combination, as the original)"),
    # deployment scripts
    "model": FlagSpec("the trained network to deploy", choices=("Vanilla", "DFG", "ResiliNet", "ResiliNetPlus")),
    "iteration": FlagSpec("which iteration's saved weights to deploy", range=AT_LEAST_1),
    "fail": FlagSpec("failable nodes whose actors are killed before the requests stream"),
    "setting": FlagSpec("reliability setting that draws the dead nodes every --window requests; empty: none"),
    "requests": FlagSpec("requests to send, cycling through the test set; 0: one pass", range=Range(0)),
    "request_size": FlagSpec("test samples per request", range=AT_LEAST_1),
    "window": FlagSpec("requests between two draws of the dead nodes under --setting", range=AT_LEAST_1),
    "in_flight": FlagSpec("requests sent before the oldest answer is awaited", range=AT_LEAST_1),
    "timeout_ms": FlagSpec("a node takes a sender's missing output as zeros after this wait (ms)",
                           range=Range(0, low_open=True)),
    "node_cpus": FlagSpec("Ray CPUs reserved for each node actor", range=Range(0, low_open=True)),
    "placement": FlagSpec("node:raynode pairs: the node's actor runs on the Ray node that has a custom resource "
                          "named raynode (`ray start --resources='{\"raynode\": 1}'`); unnamed nodes: anywhere"),
    # the dataset's networks
    "failout_survival_rate": FlagSpec("probability that a node survives failout in ResiliNet training",
                                      range=PROBABILITY),
    "partition_setting": FlagSpec("how the network's layers are split across the nodes (PARTITION_SETING: see "
                                  "the Vanilla model file)"),
    "resilinet_plus": FlagSpec("train ResiliNet+ (weighted sums) instead of ResiliNet (multiplexers)"),
    "alpha": FlagSpec("MobileNet width multiplier", range=Range(0, low_open=True)),
    "augment": FlagSpec("augment training images (rotation, shift, horizontal flip) in the IoT node"),
    "mixed_precision": FlagSpec("train in mixed_float16 (for GPUs with float16 units)"),
    # the experiment's lists
    "failout_survival_rates": FlagSpec("failout survival rates to train ResiliNet with, one model each",
                                       range=PROBABILITY),
    "weight_schemes": FlagSpec("hyperconnection weight schemes, one model each: "
                               + ", ".join(f"{k} {v}" for k, v in WEIGHT_SCHEMES.items()),
                               choices=tuple(WEIGHT_SCHEMES)),
    "model_kinds": FlagSpec("networks whose hyperconnections are weighed",
                            choices=tuple(kind.value for kind in ModelKind if kind.has_skips)),
    "skip_configurations": FlagSpec("on/off bits of the skip hyperconnections, one model each"),
}

DATASET_FLAGS = {
    "health": {
        "data_dir": FlagSpec("the unzipped MHEALTH folder or its zip; empty: download into --cache_dir",
                             environment=health.DATA_VARIABLE),
        "cache_dir": FlagSpec("where the downloaded MHEALTH zip and logs are kept", not_empty=True),
        "mhealth_download_url": FlagSpec("where the MHEALTH zip is downloaded from"),
        "verify_checksums": FlagSpec("check each subject log against the SHA-256 of the UCI original "
                                     "(false for other MHEALTH-format logs)"),
        "truncate_sensor_values": FlagSpec("cut sensor values to integers, as the original's merge"),
        "drop_first_row": FlagSpec("drop the first merged row, as the original's reader (header quirk)"),
        "split": FlagSpec("rows: shuffled rows 80/10/10 (the paper's); subjects: train 1-8, validate 9, test 10"),
    },
    "cifar": {
        "data_dir": FlagSpec("a folder of train/<class>/*.jpg and test/<class>/*.jpg, or its .tar.gz; "
                             "empty: keras.datasets.cifar10", environment=cifar.DATA_VARIABLE),
    },
    "camera": {
        "data_dir": FlagSpec("the multiview-dataset folder or its .tar.gz", environment=camera.DATA_VARIABLE),
        "cache_dir": FlagSpec("where a .tar.gz given as --data_dir is unpacked", not_empty=True),
    },
    "imagenet": {
        "train_dir": FlagSpec("training images, <train_dir>/<class>/*.JPEG (validation images are held out of it)",
                              environment=imagenet.TRAIN_VARIABLE),
        "val_dir": FlagSpec("ImageNet's validation images, <val_dir>/<class>/*.JPEG: the test set",
                            environment=imagenet.VAL_VARIABLE),
        "validation_images_per_class": FlagSpec("images per class held out of --train_dir to choose the best epoch",
                                                range=AT_LEAST_1),
        "image_size": FlagSpec("side of the square input images in pixels (MobileNet halves it five times)",
                               range=Range(32)),
        "read_workers": FlagSpec("threads reading images in parallel", range=AT_LEAST_1),
    },
}


def flag_specs(dataset: DatasetDefinition, keys: Iterable[str]) -> dict[str, FlagSpec]:
    """The spec of each flag in `keys` for a script of `dataset` (`dataset.meanings` where the tables lack it)."""
    own = DATASET_FLAGS.get(dataset.name.split("_")[0], {})
    specs = {}
    for key in keys:
        spec = own.get(key) or FLAGS.get(key) or FlagSpec(dataset.meanings.get(key, ""))
        if key == "skip_configurations":
            order = ", ".join(f"{source}->{target}" for source, target in dataset.topology.skips)
            spec = replace(spec, meaning=f"{spec.meaning}, in the order {order}")
        if key in dataset.choices:
            spec = replace(spec, choices=tuple(dataset.choices[key]))
        specs[key] = spec
    return specs
