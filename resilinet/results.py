"""Result logs of one experiment run: a text log and a JSON file, rewritten atomically.

A run can be resumed from its JSON file: its records are kept and only the missing
(iteration, variant) pairs are run. Records are kept in (iteration, variant) order, whatever order
they arrive in, so a resumed or parallel run writes the same files as a plain one.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from resilinet.errors import UserError
from resilinet.topology import Topology

# Flags that cannot change a run's numbers: a resumed run may set them differently, and the report
# pools files that differ only in them (plus `seed`, which only names independent iterations).
NON_RESULT_KEYS = frozenset({
    "verbose", "resume", "results_dir", "models_dir", "evaluate_saved", "iterations",
    "workers", "ray_address", "cpus_per_model", "gpus_per_model", "read_workers",
})


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def mean_and_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (ddof=1); the std is None for a single value."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return float(mean), None
    return float(mean), float((sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5)


def read_results(path: Path) -> dict[str, Any]:
    """The JSON document of a results file, or a UserError naming the file."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: no such results file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{path} is not a readable results file (truncated or not JSON: {error})") from None
    required = ("experiment", "metric", "config", "failable_nodes", "reliability_settings", "records")
    if not isinstance(document, dict) or any(key not in document for key in required):
        raise UserError(f"{path} is not a results file of these scripts (it lacks {', '.join(required)})")
    return document


def differing_keys(logged: Mapping[str, Any], current: Mapping[str, Any], ignore: Iterable[str] = ()) -> list[str]:
    """Keys whose values differ between two configurations (JSON-normalised), except `ignore`."""
    skip = NON_RESULT_KEYS | set(ignore)
    keys = (set(logged) | set(current)) - skip
    normal = lambda value: json.loads(json.dumps(value, default=str))  # noqa: E731  (tuples -> lists)
    return sorted(k for k in keys if normal(logged.get(k)) != normal(current.get(k)))


class ResultsLog:
    """Collects one record per trained model and rewrites both files after each record.

    A record is a dict with `iteration`, `variant`, `group`, `combinations` (alive flags by node,
    `no_path`, score) and `average` (expected score per reliability setting).
    """

    def __init__(
        self,
        results_dir: Path,
        experiment: str,
        config: Mapping[str, Any],
        topology: Topology,
        reliability_settings: Mapping[str, Sequence[float]],
        metric: str,
        variant_order: Sequence[str] = (),
        command: str = "",
        json_path: Path | None = None,
    ):
        if json_path is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            json_path = Path(results_dir) / f"{experiment}_{stamp}.json"
        self.json_path = Path(json_path)
        self.text_path = self.json_path.with_suffix(".txt")
        self.experiment = experiment
        self.config = dict(config)
        self.topology = topology
        self.settings = {name: list(r) for name, r in reliability_settings.items()}
        self.metric = metric
        self.variant_order = list(variant_order)
        self.commands = [command] if command else []
        self.records: list[dict[str, Any]] = []

    @classmethod
    def resume(cls, json_path: Path, experiment: str, config: Mapping[str, Any], topology: Topology,
               reliability_settings: Mapping[str, Sequence[float]], metric: str,
               variant_order: Sequence[str] = (), command: str = "") -> "ResultsLog":
        """Reopen the results file of an earlier run of the same script and configuration."""
        document = read_results(json_path)
        if document["experiment"] != experiment:
            raise UserError(f"--resume: {json_path} is a results file of {document['experiment']}, "
                            f"not of {experiment}")
        differing = differing_keys(document["config"], config)
        if differing:
            shown = "; ".join(f"{k}: logged {document['config'].get(k)!r}, now {config.get(k)!r}" for k in differing)
            raise UserError(f"--resume: {json_path} was run with other constants ({shown}); resume with the "
                            f"logged values or start a new run")
        log = cls(Path(json_path).parent, experiment, config, topology, reliability_settings, metric,
                  variant_order, json_path=Path(json_path))
        log.commands = list(document.get("commands", [])) + ([command] if command else [])
        for record in document["records"]:
            log._insert(record)
        return log

    def done(self) -> set[tuple[int, str]]:
        """The (iteration, variant) pairs that have a record."""
        return {(record["iteration"], record["variant"]) for record in self.records}

    def add(self, record: Mapping[str, Any]) -> None:
        self._insert(dict(record))
        self.write()

    def _insert(self, record: dict[str, Any]) -> None:
        key = (record["iteration"], record["variant"])
        self.records = [r for r in self.records if (r["iteration"], r["variant"]) != key] + [record]
        order = {name: i for i, name in enumerate(self.variant_order)}
        self.records.sort(key=lambda r: (r["iteration"], order.get(r["variant"], len(order)), r["variant"]))

    def summary(self) -> list[dict[str, Any]]:
        """Mean and sample std over iterations per (group, setting); n/a where never evaluated."""
        groups = list(dict.fromkeys(record["group"] for record in self.records))
        rows = []
        for group in groups:
            for setting in self.settings:
                values = [r["average"][setting] for r in self.records if r["group"] == group and setting in r["average"]]
                mean, std = mean_and_std(values) if values else (None, None)
                rows.append({"model": group, "setting": setting, "mean": mean, "std": std, "iterations": len(values)})
        return rows

    def write(self) -> None:
        self.json_path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "experiment": self.experiment,
            "metric": self.metric,
            "config": self.config,
            "commands": self.commands,
            "failable_nodes": list(self.topology.failable),
            "reliability_settings": self.settings,
            "records": self.records,
            "summary": self.summary(),
        }
        write_atomically(self.json_path, json.dumps(document, indent=1, default=str) + "\n")
        write_atomically(self.text_path, self.render())

    def render(self) -> str:
        metric = self.metric.replace("_", "-")
        lines = [f"experiment: {self.experiment}", f"metric: {metric}"]
        lines.append("config: " + ", ".join(f"{k}={v}" for k, v in self.config.items()))
        lines += [f"command: {command}" for command in self.commands]
        lines.append(f"failable nodes: {', '.join(self.topology.failable)}")
        for name, r in self.settings.items():
            lines.append(f"reliability setting {name}: {r}")
        for record in self.records:
            lines += ["", f"== iteration {record['iteration']} | {record['variant']} =="]
            for combination in record["combinations"]:
                alive = tuple(combination["alive"].values())
                note = "  (no path: random guess)" if combination["no_path"] else ""
                lines.append(f"  {self.topology.describe(alive)}  {metric} {combination[self.metric]:.4f}{note}")
            for setting, value in record["average"].items():
                lines.append(f"  average {metric} under {setting} {self.settings[setting]}: {value:.4f}")
        iterations = len({record["iteration"] for record in self.records})
        lines += ["", f"== summary: mean and sample std over {iterations} iteration(s) =="]
        lines.append(f"{'model':<40} {'setting':<12} {'mean':>8} {'std':>8}  n")
        for row in self.summary():
            mean = "n/a" if row["mean"] is None else f"{row['mean']:.4f}"
            std = "n/a" if row["std"] is None else f"{row['std']:.4f}"
            lines.append(f"{row['model']:<40} {row['setting']:<12} {mean:>8} {std:>8}  {row['iterations']}")
        return "\n".join(lines) + "\n"
