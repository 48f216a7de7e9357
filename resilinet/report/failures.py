"""A pooled run under a failure model (`resilinet.core.failure_models`), from the per-combination scores its results
files already hold: each model's expected score (mean ± std over iterations) beside the paper's settings, an
estimate from drawn combinations with its 95% interval, and for an outage trace the score in force over the window.
Nothing is trained or evaluated again."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from resilinet.base.errors import UserError
from resilinet.base.files import write_text_atomically
from resilinet.core.failure_models import (
    Combination,
    Estimate,
    FailureModel,
    OutageTrace,
    describe,
    sampled_estimate,
)
from resilinet.core.topology import expected_value
from resilinet.report.pooled import Run, Stats, statistics


@dataclass(frozen=True)
class UnderModel:
    """A run's scores under one failure model: per trained model (`Run.models`), the expected score of each of its
    records, the same per record in the run's order, and (with draws) each record's sampled estimate."""

    path: Path
    model: FailureModel
    expected: dict[str, list[float]]
    per_record: list[float]
    sampled: dict[str, list[Estimate]]

    def stats(self, model: str) -> Stats:
        return statistics(self.expected[model])


def record_combinations(run: Run, record: dict[str, Any], source: Path) -> tuple[list[Combination], list[float]]:
    """A record's combinations (alive flags in the run's node order) and their scores; every combination is
    needed to apply a failure model exactly."""
    nodes = run.failable_nodes
    combinations = [tuple(bool(c["alive"][node]) for node in nodes) for c in record["combinations"]]
    if len(set(combinations)) != 2 ** len(nodes):
        raise UserError(f"{source}: iteration {record['iteration']} {record['variant']} holds "
                        f"{len(set(combinations))} of the {2 ** len(nodes)} failure combinations (a bounded or "
                        "sampled evaluation); a failure model needs the score of every combination")
    return combinations, [float(c[run.metric]) for c in record["combinations"]]


def under_model(run: Run, path: Path, model: FailureModel, draws: int = 0, seed: int = 0) -> UnderModel:
    """The expected score of every record of `run` under `model`; with `draws`, also an estimate from that many
    combinations drawn from it (seeded by `seed` and the record's place in the run)."""
    expected: dict[str, list[float]] = {model: [] for model in run.models}
    per_record: list[float] = []
    sampled: dict[str, list[Estimate]] = {model: [] for model in run.models}
    probabilities: dict[tuple[Combination, ...], np.ndarray] = {}  # records share their combinations' order
    for index, (record, source) in enumerate(zip(run.records, run.sources)):
        combinations, scores = record_combinations(run, record, source)
        key = tuple(combinations)
        if key not in probabilities:
            probabilities[key] = model.probabilities(run.failable_nodes, combinations)
        per_record.append(expected_value(probabilities[key], scores))
        expected[run.model_label(record)].append(per_record[-1])
        if draws:
            score_of = dict(zip(combinations, scores)).__getitem__
            rng = np.random.default_rng([seed, index])
            sampled[run.model_label(record)].append(sampled_estimate(model, run.failable_nodes, score_of, draws, rng))
    return UnderModel(Path(path), model, expected, per_record, sampled)


def as_document(run: Run, under: UnderModel) -> dict[str, Any]:
    """What the JSON beside the tables holds: per model, the statistics and each record's expected score."""
    models = {}
    for label in run.models:
        stats = under.stats(label)
        records = [r for r in run.records if run.model_label(r) == label]
        models[label] = {
            "mean": stats.mean, "std": stats.std, "n": stats.n,
            "paper": {s: run.model_stats(label, s).mean for s in run.settings if run.model_stats(label, s)},
            "records": [{"iteration": r["iteration"], "variant": r["variant"], "expected": value}
                        for r, value in zip(records, under.expected[label])],
        }
        if under.sampled[label]:
            models[label]["sampled"] = [vars(e) for e in under.sampled[label]]
    return {"experiment": run.experiment, "metric": run.metric, "failure_model": str(under.path),
            "description": describe(under.model, run.failable_nodes), "failable_nodes": run.failable_nodes,
            "results_files": [str(p) for p in run.paths], "models": models}


def trace_figure(run: Run, trace: OutageTrace, name: str, path: Path) -> Path:
    """Each model's score over the window: the mean over its iterations of the score of the combination in force."""
    from resilinet.report.figures import plt, save

    nodes = run.failable_nodes
    segments = trace.segments(nodes)
    figure, axes = plt.subplots(figsize=(9.0, 4.5))
    hours = [(start - trace.start) / 3600 for start, _, _ in segments] + [(trace.end - trace.start) / 3600]
    for label in run.models:
        per_combination: dict[Combination, list[float]] = {}
        for record in (r for r in run.records if run.model_label(r) == label):
            for c in record["combinations"]:
                per_combination.setdefault(tuple(bool(c["alive"][n]) for n in nodes), []).append(c[run.metric])
        levels = [float(np.mean(per_combination[alive])) for _, _, alive in segments]
        axes.step(hours, levels + levels[-1:], where="post", label=label)
    axes.set_xlabel("hours since the window's start")
    axes.set_ylabel(run.metric_name)
    axes.grid(alpha=0.3)
    axes.set_title(f"{run.experiment} under {name}: the score in force at each moment")
    axes.legend(fontsize="small")
    return save(figure, path)


def write_under_model(run: Run, under: UnderModel, out: Path) -> list[Path]:
    """The JSON of the numbers and, for a trace, the figure over time, into `out`."""
    stem = f"{run.experiment}_under_{under.path.stem}"
    written = [out / f"{stem}.json"]
    write_text_atomically(written[0], json.dumps(as_document(run, under), indent=1) + "\n")
    if isinstance(under.model, OutageTrace):
        written.append(trace_figure(run, under.model, under.path.name, out / f"{stem}_over_time.png"))
    return written
