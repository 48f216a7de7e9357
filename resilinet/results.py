"""Result logs of one experiment run: a text log and a JSON file, rewritten atomically."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from resilinet.evaluation import CombinationResult, mean_and_std
from resilinet.topology import Topology


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


class ResultsLog:
    """Collects one record per trained model and rewrites both files after each record."""

    def __init__(
        self,
        results_dir: Path,
        experiment: str,
        config: Mapping[str, Any],
        topology: Topology,
        reliability_settings: Mapping[str, Sequence[float]],
        metric: str,
    ):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        results_dir = Path(results_dir)
        results_dir.mkdir(parents=True, exist_ok=True)
        self.text_path = results_dir / f"{experiment}_{stamp}.txt"
        self.json_path = results_dir / f"{experiment}_{stamp}.json"
        self.experiment = experiment
        self.config = dict(config)
        self.topology = topology
        self.settings = {name: list(r) for name, r in reliability_settings.items()}
        self.metric = metric
        self.records: list[dict[str, Any]] = []

    def add(
        self,
        iteration: int,
        variant: str,
        group: str,
        results: Sequence[CombinationResult],
        averages: Mapping[str, float],
    ) -> None:
        self.records.append({
            "iteration": iteration,
            "variant": variant,
            "group": group,
            "combinations": [
                {"alive": dict(zip(self.topology.failable, r.alive)), "no_path": r.no_path, self.metric: r.score}
                for r in results
            ],
            "average": dict(averages),
        })
        self.write()

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
        document = {
            "experiment": self.experiment,
            "metric": self.metric,
            "config": self.config,
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

