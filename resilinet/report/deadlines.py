"""Deployments run under deadlines (`--deadline_ms`): per model, the accuracy and the latency percentiles at each
deadline, as a markdown table and a figure of accuracy against deadline (`<dataset>_deployment_deadlines.*`)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from resilinet.base.errors import UserError
from resilinet.base.files import write_text_atomically

DEPLOYMENT_SUFFIX = "_deployment"


def is_deployment(document: Any) -> bool:
    return isinstance(document, dict) and str(document.get("experiment", "")).endswith(DEPLOYMENT_SUFFIX)


def checked_deployments(pairs: Sequence[tuple[Path, dict[str, Any]]]) -> dict[str, list[tuple[Path, dict[str, Any]]]]:
    """Deployment results files by experiment; each must have been run with --deadline_ms."""
    by_experiment: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    for path, document in pairs:
        if not isinstance(document.get("deadlines"), list) or not document["deadlines"]:
            raise UserError(f"{path}: a deployment without --deadline_ms; the report draws deployments only "
                            "against their deadlines")
        by_experiment.setdefault(document["experiment"], []).append((path, document))
    return by_experiment


def deadline_table(documents: Sequence[tuple[Path, dict[str, Any]]]) -> list[str]:
    lines = ["| model | deadline (ms) | requests | measured | same as the simulation | p50 ms | p95 ms | p99 ms "
             "| file |", "|" + " --- |" * 9]
    for path, document in documents:
        for entry in document["deadlines"]:
            latency = entry["latency"]["all requests"]
            shown = ["n/a" if latency[k] is None else f"{latency[k]:.1f}" for k in ("p50_ms", "p95_ms", "p99_ms")]
            lines.append(f"| {document['model']} | {entry['deadline_ms']:g} | {entry['requests']} | "
                         f"{entry['measured']:.4f} | {'yes' if entry['all_same_predictions'] else 'NO'} | "
                         f"{' | '.join(shown)} | `{path.name}` |")
    return lines


def deadline_figure(experiment: str, documents: Sequence[tuple[Path, dict[str, Any]]], path: Path) -> Path:
    """Accuracy (left) and p95 latency (right) against the deadline, a line per model."""
    from resilinet.report.figures import plt, save

    figure, (accuracy, latency) = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained")
    for _, document in documents:
        entries = sorted(document["deadlines"], key=lambda e: e["deadline_ms"])
        deadlines = [e["deadline_ms"] for e in entries]
        accuracy.plot(deadlines, [e["measured"] for e in entries], marker="o", label=document["model"])
        latency.plot(deadlines, [e["latency"]["all requests"]["p95_ms"] for e in entries], marker="o",
                     label=document["model"])
    for axes, label in ((accuracy, document_metric(documents)), (latency, "p95 latency (ms)")):
        axes.set_xlabel("deadline per hop (ms)")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    figure.suptitle(f"{experiment}: answers under a deadline")
    return save(figure, path)


def document_metric(documents: Sequence[tuple[Path, dict[str, Any]]]) -> str:
    return documents[0][1]["metric"].replace("_", "-")


def write_deadline_reports(pairs: Sequence[tuple[Path, dict[str, Any]]], out: Path) -> list[Path]:
    """Per deployment experiment, `<experiment>_deadlines.md` (the table) and `_deadlines.png` into `out`."""
    written = []
    for experiment, documents in checked_deployments(pairs).items():
        figure = deadline_figure(experiment, documents, out / f"{experiment}_deadlines.png")
        markdown = out / f"{experiment}_deadlines.md"
        text = [f"# {experiment} under deadlines", "",
                "Each deployment streamed its requests once per deadline: a node that has not heard from a sender "
                "by its slot (the deadline per hop) goes on with zeros for it, as if the sender were dead.", "",
                *deadline_table(documents), "", f"![{figure.name}]({figure.name})", "", "## Commands", "",
                *[f"- `{document['command']}`" for _, document in documents]]
        write_text_atomically(markdown, "\n".join(text) + "\n")
        written += [markdown, figure]
    return written
