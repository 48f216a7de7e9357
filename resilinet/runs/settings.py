"""Every setting of every script, declared once: type, default, meaning, allowed values and role.

`SETTINGS` holds the settings whose meaning is the same for every dataset, `DATASET_SETTINGS` those whose meaning
depends on the data set (the script name's first word). A dataset sets its own defaults (`DatasetDefinition.defaults`)
and the allowed values of its enumerated settings (`DatasetDefinition.choices`); a network of your own may add
settings of its own, which shape its networks or data (`Role.NETWORK`). What the scripts take, and what a resume,
`--evaluate_saved`, the report and a deployment compare, is derived from the roles here and nowhere else.
Nothing here imports Keras.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from resilinet.base.settings import REQUIRED, Check, OffOrAtLeast, Range, Role, Setting
from resilinet.core.kinds import ModelKind
from resilinet.core.topology import WEIGHT_SCHEMES
from resilinet.data import camera, cifar, health, imagenet
from resilinet.data.definition import DatasetDefinition
from resilinet.runs.distribute import MODES

AT_LEAST_1 = Range(1)
NOT_NEGATIVE = Range(0)
POSITIVE = Range(0, low_open=True)
PROBABILITY = Range(0, 1, low_open=True)
NETWORK, TRAINING, SEED, EVALUATION, OUTPUT, DEPLOYMENT = Role

SETTINGS: dict[str, Setting] = {
    # what is trained, and how
    "epochs": Setting(int, "training epochs of each model", TRAINING, range=AT_LEAST_1),
    "batch_size": Setting(int, "batch size of training and evaluation (global: split over the GPUs)", TRAINING,
                          range=AT_LEAST_1, deployment=True),
    "seed": Setting(int, "random seed of the run (each iteration and model is seeded from it; a deployment seeds its "
                         "failure draws and no-path guesses)", SEED, default=0, range=NOT_NEGATIVE),
    "distribute": Setting(str, "data-parallel training over several devices (auto: when 2 or more GPUs are visible)",
                          TRAINING, default="auto", choices=MODES),
    "mixed_precision": Setting(bool, "train in mixed_float16 (for GPUs with float16 units)", TRAINING, default=False,
                               deployment=True, absent_means=False),
    "resilinet_plus": Setting(bool, "train ResiliNet+ (weighted sums) instead of ResiliNet (multiplexers)", TRAINING),
    # the networks
    "failout_survival_rate": Setting(float, "probability that a node survives failout in ResiliNet training", NETWORK,
                                     range=PROBABILITY),
    "partition_setting": Setting(int, "how the network's layers are split across the nodes (PARTITION_SETING: see "
                                      "the Vanilla model file)", NETWORK),
    "alpha": Setting(float, "MobileNet width multiplier", NETWORK, range=POSITIVE),
    "augment": Setting(bool, "augment training images (rotation, shift, horizontal flip) in the IoT node", NETWORK),
    # an experiment's models, one per item
    "failout_survival_rates": Setting(float, "failout survival rates to train ResiliNet with, one model each",
                                      TRAINING, is_list=True, range=PROBABILITY),
    "weight_schemes": Setting(int, "hyperconnection weight schemes, one model each: "
                                   + ", ".join(f"{k} {v}" for k, v in WEIGHT_SCHEMES.items()),
                              TRAINING, is_list=True, choices=tuple(WEIGHT_SCHEMES)),
    "model_kinds": Setting(str, "networks whose hyperconnections are weighed", TRAINING, is_list=True,
                           choices=tuple(kind.value for kind in ModelKind if kind.has_skips)),
    "skip_configurations": Setting(str, "on/off bits of the skip hyperconnections, one model each", TRAINING,
                                   is_list=True),
    # how trained weights are scored
    "no_path_guess": Setting(str, "score when no node path reaches the cloud: expected (exact accuracy of guessing "
                                  "by the training label frequencies) or draw (one seeded draw, as the original code)",
                             EVALUATION, default="expected", choices=("expected", "draw"), deployment=True),
    "exact_max_nodes": Setting(int, "topologies with up to this many failable nodes are evaluated under every "
                                    "failure combination; larger ones under the most probable, down to --mass_left",
                               EVALUATION, default=12, range=NOT_NEGATIVE, absent_means=12),
    "mass_left": Setting(float, "past --exact_max_nodes: the probability the unevaluated combinations may hold under "
                                "each setting; the expected score is then known within it (at 1 none would be "
                                "evaluated)", EVALUATION, default=0.001,
                         range=Range(0, 1, low_open=True, high_open=True), absent_means=0.001),
    "draws": Setting(int, "past --exact_max_nodes: estimate each expected score from this many failure combinations "
                          "drawn under its reliability setting, with a 95% interval, evaluating only the distinct ones "
                          "drawn (0: bound it by the most probable combinations, --mass_left)", EVALUATION,
                     default=0, range=OffOrAtLeast(2), absent_means=0),
    "draw_seed": Setting(int, "the seed of the drawn combinations (each iteration and reliability setting draws from "
                              "its own stream; every model of an iteration is scored on the same draws)",
                         EVALUATION, default=0, range=NOT_NEGATIVE, absent_means=0),
    "node_by_node": Setting(bool, "evaluate each node once per alive state of the nodes it depends on (false: the "
                                  "whole model once per failure combination, as the original)", EVALUATION,
                            default=False, deployment=True, absent_means=False),
    # where files go, what is printed, how the work is spread
    "iterations": Setting(int, "times each model is trained and evaluated (mean and std are over these)", OUTPUT,
                          range=AT_LEAST_1),
    "evaluate_saved": Setting(bool, "evaluate the weights of the run --saved_run names instead of training", OUTPUT,
                              default=False),
    "saved_run": Setting(str, "the run whose saved weights --evaluate_saved=true (or a deployment) uses, with the "
                              "constants it logged (flags given must match): its results .json, or latest (the "
                              "newest of the script in --results_dir)", OUTPUT,
                         default="latest", not_empty=True, deployment=True),
    "resume": Setting(str, "continue an interrupted run with the constants it logged (flags given must match): its "
                           "results .json, or latest (the newest of this script in --results_dir); empty: a new run",
                      OUTPUT, default=""),
    "checkpoint_seconds": Setting(float, "save the state of a training in progress after an epoch when this many "
                                         "seconds have passed since the last save (0: every epoch); a kill loses at "
                                         "most that, or one epoch if longer", OUTPUT, default=60.0,
                                  range=NOT_NEGATIVE),
    "results_dir": Setting(str, "folder of the results .txt and .json files", OUTPUT, default="results",
                           not_empty=True, deployment=True),
    "models_dir": Setting(str, "folder of the trained weights, one folder per run "
                               "(<models_dir>/<script>/<run start time>/<model>_iter<N>.weights.h5)", OUTPUT,
                          default="models", not_empty=True),
    "verbose": Setting(int, "Keras progress output: 0 none, 1 progress bar, 2 one line per epoch", OUTPUT, default=1,
                       choices=(0, 1, 2)),
    "workers": Setting(int, "models trained at the same time as Ray tasks: 1 in this process without Ray, N > 1 on a "
                            "local Ray instance (or --ray_address), 0 as many as the Ray resources allow", OUTPUT,
                       default=1, range=NOT_NEGATIVE),
    "ray_address": Setting(str, "address of a running Ray cluster to run on (parallel jobs, or deployed nodes; auto: "
                                "the one this machine joined with `ray start`); empty: a local instance started and "
                                "stopped by the script", OUTPUT, default="", deployment=True),
    "cpus_per_model": Setting(float, "CPUs reserved for each model trained in parallel", OUTPUT, default=1.0,
                              range=POSITIVE),
    "gpus_per_model": Setting(float, "GPUs (a fraction shares one) reserved for each model trained in parallel",
                              OUTPUT, default=0.0, range=NOT_NEGATIVE),
    # the deployment
    "model": Setting(str, "the trained network to deploy", DEPLOYMENT, default="ResiliNet",
                     choices=tuple(kind.file_name for kind in ModelKind)),
    "iteration": Setting(int, "which iteration's saved weights to deploy", DEPLOYMENT, default=1, range=AT_LEAST_1),
    "fail": Setting(str, "failable nodes whose actors are killed before the requests stream", DEPLOYMENT,
                    default=("",), is_list=True),
    "setting": Setting(str, "reliability setting that draws the dead nodes every --window requests; empty: none",
                       DEPLOYMENT, default=""),
    "requests": Setting(int, "requests to send, cycling through the test set; 0: one pass", DEPLOYMENT, default=0,
                        range=NOT_NEGATIVE),
    "request_size": Setting(int, "test samples per request", DEPLOYMENT, default=1, range=AT_LEAST_1),
    "failure_model": Setting(str, "a failure model file (JSON: independent or shared_domains; CSV: an outage trace; "
                                  "docs/failure-models.md) that draws the dead nodes every --window requests, a trace "
                                  "replayed in time order over the requests; empty: none", DEPLOYMENT, default=""),
    "window": Setting(int, "requests between two draws of the dead nodes under --setting or --failure_model",
                      DEPLOYMENT, default=25, range=AT_LEAST_1),
    "in_flight": Setting(int, "requests sent before the oldest answer is awaited", DEPLOYMENT, default=4,
                         range=AT_LEAST_1),
    "timeout_ms": Setting(float, "a node takes a sender's missing output as zeros after this wait (ms)", DEPLOYMENT,
                          default=1000.0, range=POSITIVE),
    "deadline_ms": Setting(float, "deadlines per hop (ms), the requests streamed once under each: a node at k hops "
                                  "from the inputs is due (k + 1) x deadline after a request is sent, and its "
                                  "receivers go on with zeros for it after that, as if it were dead; empty: no "
                                  "deadline (--timeout_ms)", DEPLOYMENT, default=(), is_list=True, range=POSITIVE),
    "slow": Setting(str, "node:ms pairs: the node takes that much longer over every request (a slow node, on purpose)",
                    DEPLOYMENT, default=("",), is_list=True),
    "node_cpus": Setting(float, "Ray CPUs reserved for each node actor", DEPLOYMENT, default=0.1, range=POSITIVE),
    "placement": Setting(str, "node:raynode pairs: the node's actor runs on the Ray node that has a custom resource "
                              "named raynode (`ray start --resources='{\"raynode\": 1}'`); unnamed nodes: anywhere",
                         DEPLOYMENT, default=("",), is_list=True),
}

DATASET_SETTINGS: dict[str, dict[str, Setting]] = {
    "health": {
        "data_dir": Setting(str, "the unzipped MHEALTH folder or its zip; empty: download into --cache_dir", NETWORK,
                            environment=health.DATA_VARIABLE),
        "cache_dir": Setting(str, "where the downloaded MHEALTH zip and logs are kept", OUTPUT, not_empty=True,
                             deployment=True),
        "mhealth_download_url": Setting(str, "where the MHEALTH zip is downloaded from", NETWORK),
        "verify_checksums": Setting(bool, "check each subject log against the SHA-256 of the UCI original "
                                          "(false for other MHEALTH-format logs)", NETWORK),
        "truncate_sensor_values": Setting(bool, "cut sensor values to integers, as the original's merge", NETWORK),
        "drop_first_row": Setting(bool, "drop the first merged row, as the original's reader (header quirk)",
                                  NETWORK),
        "split": Setting(str, "rows: shuffled rows 80/10/10 (the paper's); subjects: train 1-8, validate 9, test 10",
                         NETWORK),
    },
    "cifar": {
        "data_dir": Setting(str, "a folder of train/<class>/*.jpg and test/<class>/*.jpg, or its .tar.gz; empty: "
                                 "keras.datasets.cifar10", NETWORK, environment=cifar.DATA_VARIABLE),
    },
    "camera": {
        "data_dir": Setting(str, "the multiview-dataset folder or its .tar.gz", NETWORK,
                            environment=camera.DATA_VARIABLE),
        "cache_dir": Setting(str, "where a .tar.gz given as --data_dir is unpacked", OUTPUT, not_empty=True,
                             deployment=True),
    },
    "imagenet": {
        "train_dir": Setting(str, "training images, <train_dir>/<class>/*.JPEG (validation images are held out of "
                                  "it)", NETWORK, environment=imagenet.TRAIN_VARIABLE),
        "val_dir": Setting(str, "ImageNet's validation images, <val_dir>/<class>/*.JPEG: the test set", NETWORK,
                           environment=imagenet.VAL_VARIABLE),
        "validation_images_per_class": Setting(int, "images per class held out of --train_dir to choose the best "
                                                    "epoch", NETWORK, range=AT_LEAST_1),
        "image_size": Setting(int, "side of the square input images in pixels (MobileNet halves it five times)",
                              NETWORK, range=Range(32)),
        "read_workers": Setting(int, "threads reading images in parallel", OUTPUT, range=AT_LEAST_1, deployment=True),
    },
}

# Keys older results files hold that are no settings any more: a resume or the report passes over them.
RETIRED_KEYS = {"num_classes": "imagenet's class count, now read from --train_dir", "argv": "the command line"}


def declared(dataset_name: str, key: str) -> Setting | None:
    """The declaration of `key` for a dataset named `dataset_name` (None: not one of the declared settings)."""
    return DATASET_SETTINGS.get(dataset_name.split("_")[0], {}).get(key) or SETTINGS.get(key)


def own_setting(key: str, default: Any, meaning: str) -> Setting:
    """A setting a network of your own adds: typed by its default; it shapes the networks or their data."""
    if isinstance(default, tuple):
        return Setting(type(default[0]) if default else str, meaning, NETWORK, is_list=True)
    return Setting(type(default), meaning, NETWORK)


def settings_of(dataset: DatasetDefinition, keys: Iterable[str], defaults: Mapping[str, Any] | None = None
                ) -> dict[str, Setting]:
    """The declaration of each setting in `keys` for a script of `dataset`, with the dataset's allowed values
    (`dataset.choices`); a key declared nowhere is one of the dataset's own (`own_setting`, typed by `defaults`)."""
    result = {}
    for key in keys:
        setting = declared(dataset.name, key)
        if setting is None:
            setting = own_setting(key, (defaults or dataset.defaults).get(key, ""), dataset.meanings.get(key, ""))
        if key == "skip_configurations":
            order = ", ".join(f"{source}->{target}" for source, target in dataset.topology.skips)
            setting = replace(setting, meaning=f"{setting.meaning}, in the order {order}")
        if key in dataset.choices:
            setting = replace(setting, choices=tuple(dataset.choices[key]))
        result[key] = setting
    return result


def compared(key: str, check: Check, experiment: str) -> bool:
    """Whether `check` refuses two runs of `experiment` (`<dataset>_<type>`) that differ in `key` (a dataset's own
    setting, declared nowhere here, shapes its networks or data: compared by every check)."""
    setting = declared(experiment, key)
    return key not in RETIRED_KEYS and check in (setting.role if setting is not None else NETWORK).compared_by


def absent_values() -> dict[str, Any]:
    """The value a results file that lacks a setting (written before it existed) is read as."""
    every = [SETTINGS, *DATASET_SETTINGS.values()]
    return {key: s.absent_means for table in every for key, s in table.items() if s.absent_means is not None}


def experiment_defaults() -> dict[str, Any]:
    """The defaults every experiment script has, whatever its dataset sets."""
    return {key: s.default for key, s in SETTINGS.items() if s.in_experiments and s.default is not REQUIRED}


def deployment_defaults(dataset: DatasetDefinition) -> dict[str, Any]:
    """The settings of a deployment script of `dataset` and their defaults: the dataset's that a deployment takes,
    then the deployment's own and the common ones it takes."""
    own = {key: value for key, value in dataset.defaults.items() if settings_of(dataset, [key])[key].in_deployment}
    common = {key: s.default for key, s in SETTINGS.items() if s.in_deployment and s.default is not REQUIRED}
    return {**own, **{key: value for key, value in common.items() if key not in own}}
