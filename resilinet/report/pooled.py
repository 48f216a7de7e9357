"""Results files pooled into one run per experiment: statistics per group and setting, learning curves."""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resilinet.base.errors import UserError
from resilinet.base.settings import Check
from resilinet.core.kinds import ModelKind
from resilinet.core.paper_topologies import CAMERA, CNN, HEALTH
from resilinet.runs.results import (
    check_document,
    differing_keys,
    mean_and_std,
    read_results,
)
from resilinet.runs.variants import VARIANTS


@dataclass
class Stats:
    """Mean, sample std (None for one value) and 95% Student-t interval (None for one value)."""

    n: int
    mean: float
    std: float | None
    ci: tuple[float, float] | None


def statistics(values: Sequence[float]) -> Stats:
    mean, std = mean_and_std(values)
    n, ci = len(values), None
    if std is not None:
        try:
            from scipy.stats import t
            half = float(t.ppf(0.975, n - 1)) * std / math.sqrt(n)
        except ImportError:  # no interval without scipy
            half = math.nan
        ci = (mean - half, mean + half) if half == half else None
    return Stats(n, mean, std, ci)


@dataclass
class Run:
    """All records of one experiment, pooled over one or more results files."""

    experiment: str
    metric: str
    failable_nodes: list[str]
    settings: dict[str, list[float]]
    experiment_type: str = ""
    skip_order: list[list[str]] = field(default_factory=list)  # [source, target] per skip bit
    paths: list[Path] = field(default_factory=list)
    configs: list[dict[str, Any]] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    origin: dict[tuple, Path] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)  # the results file of each record
    incomplete: list[str] = field(default_factory=list)  # files of runs that lack records (in progress)

    @property
    def groups(self) -> list[str]:
        """Row labels in the order the scripts ran them."""
        return list(dict.fromkeys(record["group"] for record in self.records))

    @staticmethod
    def model_label(record: dict[str, Any]) -> str:
        """The trained model a record belongs to: its group, and in a group with one model per reliability setting
        (variable failout, weight schemes 2 and 3) the setting the model was trained for."""
        setting = record["model"].get("setting")
        return record["group"] if setting is None else f"{record['group']}, trained for {setting}"

    @property
    def models(self) -> list[str]:
        """The trained models in run order (`model_label`). The paper's settings score each model of a per-setting
        group under its own setting only, so its table has a row per group; a failure model scores every model
        under the same failures, so its table has a row per model."""
        return list(dict.fromkeys(self.model_label(record) for record in self.records))

    def model_stats(self, model: str, setting: str) -> Stats | None:
        return self.setting_stats(setting, lambda record: self.model_label(record) == model)

    def model_of(self, group: str) -> dict[str, Any]:
        """What the models of a group are (its first record's `model` fields: the same in a group but for `setting`
        and the survival rates of variable failout, which differ between the models of a per-setting group)."""
        return next(r["model"] for r in self.records if r["group"] == group)

    @property
    def compares_kinds(self) -> bool:
        """Whether the run trains several kinds of model side by side (average_accuracy), so that each model's scores
        are compared with those of the model before it, paired by iteration (the report's "What each model adds")."""
        return self.experiment_type == "average_accuracy" and len(self.groups) > 1

    @property
    def variants(self) -> list[str]:
        return list(dict.fromkeys(record["variant"] for record in self.records))

    @property
    def metric_name(self) -> str:
        return {"micro_f1": "micro-F1", "accuracy": "accuracy"}.get(self.metric, self.metric)

    def add(self, path: Path, document: dict[str, Any]) -> None:
        if self.paths:
            first = self.paths[0]
            keys = differing_keys(self.configs[0], document["config"], self.experiment, Check.POOL)
            if keys:
                raise UserError(f"{path} and {first} ran {self.experiment} with other constants "
                                f"({', '.join(keys)}); their iterations cannot be pooled")
            mine = {"metric": self.metric, "failable_nodes": self.failable_nodes, "reliability_settings": self.settings}
            for key, value in mine.items():
                if document[key] != value:
                    raise UserError(f"{path} and {first} differ in {key}; their iterations cannot be pooled")
        seed = document["config"].get("seed")
        for record in document["records"]:
            key = (seed, record["iteration"], record["variant"])
            if key in self.origin:
                raise UserError(f"{path} and {self.origin[key]} both hold seed {seed}, iteration {key[1]}, "
                                f"{key[2]}; pool each run once")
            self.origin[key] = path
            self.records.append(record)
            self.sources.append(path)
        variants = document.get("variants") or list(dict.fromkeys(r["variant"] for r in document["records"]))
        iterations = document["config"].get("iterations")
        if isinstance(iterations, int) and len(document["records"]) < iterations * len(variants):
            self.incomplete.append(f"{path} holds {len(document['records'])} of {iterations * len(variants)} records "
                                   f"({iterations} iteration(s) x {len(variants)} models): in progress or interrupted")
        self.paths.append(path)
        self.configs.append(document["config"])
        self.commands.append(list(document.get("commands", [])))

    def group_stats(self, group: str, setting: str) -> Stats | None:
        return self.setting_stats(setting, lambda record: record["group"] == group)

    def setting_stats(self, setting: str, chosen: Callable[[dict[str, Any]], bool]) -> Stats | None:
        """Statistics of the expected score under `setting` of the chosen records that were evaluated under it."""
        values = [r["average"][setting] for r in self.records if chosen(r) and setting in r["average"]]
        return statistics(values) if values else None

    def paired_difference(self, group: str, baseline: str, score: Callable[[int], float | None]) -> Stats | None:
        """Statistics of `group`'s score minus `baseline`'s, paired by (seed, iteration): each difference is between
        two models of the same iteration of a run, so what the iterations share cancels. `score(i)`: the score of
        record i (an expected score under a setting or a failure model), None where it has none."""
        seeds = {path: config.get("seed") for path, config in zip(self.paths, self.configs)}
        scores: dict[str, dict[tuple, float]] = {group: {}, baseline: {}}
        for index, (record, source) in enumerate(zip(self.records, self.sources)):
            value = score(index) if record["group"] in scores else None
            if value is not None:
                scores[record["group"]][(seeds[source], record["iteration"])] = value
        differences = [mine - scores[baseline][key] for key, mine in scores[group].items() if key in scores[baseline]]
        return statistics(differences) if differences else None

    def setting_score(self, setting: str) -> Callable[[int], float | None]:
        """The expected score of record i under a reliability setting (None where it was not evaluated under it)."""
        return lambda index: self.records[index]["average"].get(setting)

    def single_failure_score(self, dead: str) -> Callable[[int], float | None]:
        """The score of record i with exactly node `dead` dead, the others alive (None where it holds no such
        combination, as a bounded evaluation may)."""

        def score(index: int) -> float | None:
            combination = single_failure(self.records[index], dead)
            return None if combination is None else combination[self.metric]

        return score

    def mass_left(self) -> dict[str, float]:
        """Per setting, the most probability any bounded record left unevaluated (empty: all exact)."""
        left: dict[str, float] = {}
        for record in self.records:
            for setting, bounds in record.get("bounds", {}).items():
                left[setting] = max(left.get(setting, 0.0), bounds["mass_left"])
        return left

    def sampled_within(self) -> dict[str, float]:
        """Per setting, the widest half-width of a sampled record's 95% interval (empty: none sampled)."""
        within: dict[str, float] = {}
        for record in self.records:
            for setting, estimate in record.get("estimates", {}).items():
                within[setting] = max(within.get(setting, 0.0), (estimate["high"] - estimate["low"]) / 2)
        return within

    def single_failures(self, group: str) -> dict[str, tuple[Stats, bool]]:
        """Score with no node dead ("none") and with exactly one node dead, with its no-path flag."""
        cells = {}
        for dead in ("none", *self.failable_nodes):
            values, no_path = [], False
            for record in (r for r in self.records if r["group"] == group):
                combination = single_failure(record, dead)
                if combination is not None:
                    values.append(combination[self.metric])
                    no_path = no_path or combination["no_path"]
            if values:
                cells[dead] = (statistics(values), no_path)
        return cells


def single_failure(record: dict[str, Any], dead: str) -> dict[str, Any] | None:
    """A record's combination with exactly node `dead` dead ("none": every node alive); None where it holds none."""
    return next((c for c in record["combinations"] if all(up == (node != dead) for node, up in c["alive"].items())),
                None)


def load_runs(paths: Sequence[Path]) -> list[Run]:
    """One Run per experiment, in the order the files name them; files of one experiment pooled."""
    runs: dict[str, Run] = {}
    for path in map(Path, paths):
        document = read_results(path)
        check_document(path, document)
        describe_legacy(document)
        experiment = document["experiment"]
        run = runs.setdefault(experiment, Run(experiment, document["metric"], document["failable_nodes"],
                                              document["reliability_settings"], document["experiment_type"],
                                              document["skip_order"]))
        run.add(path, document)
    for run in runs.values():
        if not run.records:
            raise UserError(f"{', '.join(map(str, run.paths))}: no records of {run.experiment} yet")
    return list(runs.values())


def describe_legacy(document: dict[str, Any]) -> None:
    """Fill in what results files written before records described themselves lack: the experiment
    type, the skip order, and each record's `model` fields, read off its labels."""
    if "experiment_type" not in document:
        document["experiment_type"] = next((t for t in VARIANTS if document["experiment"].endswith("_" + t)), "")
    if "skip_order" not in document:
        known = (t for t in (HEALTH, CNN, CAMERA) if list(t.failable) == document["failable_nodes"])
        document["skip_order"] = [list(skip) for skip in next(known).skips]
    kinds = {name: kind for kind in ModelKind for name in (kind.value, kind.file_name)}
    for record in document["records"]:
        if "model" in record:
            continue
        group, variant = record["group"], record["variant"]
        kind = kinds[re.match(r"ResiliNet\+|ResiliNetPlus|ResiliNet|DFG|Vanilla", group).group()]
        rate = re.fullmatch(r".* failout ([0-9.]+)", group)
        skips = re.fullmatch(r".* skips ([01]+)", group)
        scheme = re.search(r"_weight_scheme(\d+)", variant)
        variable = group.endswith(" variable failout")
        setting = next(iter(record["average"])) if variable or (scheme is not None and variant != group) else None
        if variable:
            rates = dict(zip(document["failable_nodes"], document["reliability_settings"][setting]))
        elif rate:
            rates = float(rate.group(1))
        else:
            rates = document["config"].get("failout_survival_rate") if kind.has_failout else None
        record["model"] = {"kind": kind.value, "survival_rates": rates, "variable_failout": variable,
                           "skips": skips.group(1) if skips else None,
                           "weight_scheme": int(scheme.group(1)) if scheme else 1, "setting": setting}


@dataclass
class Curves:
    """Train and validation accuracy per epoch of one group's models: mean and sample std over the
    models whose training logs were found (std NaN for one), and the epoch each model kept."""

    epochs: list[int]
    train_mean: list[float]
    train_std: list[float]
    val_mean: list[float]
    val_std: list[float]
    kept: list[int]
    logs: int


def training_log_of(record: dict[str, Any], results_path: Path) -> Path | None:
    """A record's training log: where it was written, or beside its results file as committed
    (<results file without .json>/<log name>); None when it has none or it is not found."""
    if not record.get("training_log"):
        return None
    written = Path(record["training_log"])
    for candidate in (written, Path(results_path).with_suffix("") / written.name):
        if candidate.is_file():
            return candidate
    return None


def learning_curves(run: Run) -> dict[str, Curves]:
    """Curves of every group that has training logs, over the epochs all its logs have."""
    from resilinet.runs.training_log import read_log

    curves = {}
    for group in run.groups:
        logs, kept = [], []
        for record, source in zip(run.records, run.sources):
            if record["group"] != group:
                continue
            path = training_log_of(record, source)
            rows = read_log(path) if path else []
            if rows:
                logs.append(rows)
                kept.append(record.get("kept_epoch"))
        if not logs:
            continue
        length = min(len(rows) for rows in logs)
        columns = []  # per epoch: mean and std of the train accuracy, then of the validation accuracy
        for key in ("accuracy", "val_accuracy"):
            pairs = [mean_and_std([rows[e][key] for rows in logs]) for e in range(length)]
            columns += [[mean for mean, _ in pairs], [math.nan if std is None else std for _, std in pairs]]
        curves[group] = Curves(list(range(1, length + 1)), *columns, [k for k in kept if k is not None], len(logs))
    return curves
