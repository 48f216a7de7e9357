"""The paper's figures from a pooled run (`resilinet.report.pooled.Run`), drawn with matplotlib's Agg backend:
`<experiment>_expected.png` (expected score per setting and model, error bars = std), `_combinations.png` (each
failure combination's score against the number of dead nodes, no-path ones in grey), `_learning_curves.png`,
and for failout_rate `_survival.png`, for skiphyperconnection_sensitivity `_skips.png`.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from resilinet.base.files import write_with  # noqa: E402
from resilinet.report.pooled import Run, learning_curves  # noqa: E402


def save(figure, path: Path) -> Path:
    """Write `figure` as the PNG `path`, whole or not at all, and close it."""
    try:
        write_with(path, path.with_name(path.name + ".partial"),
                   lambda partial: figure.savefig(partial, format="png", dpi=120, bbox_inches="tight"))
    finally:
        plt.close(figure)
    return path


def stats_of(run: Run, groups: list[str]):
    """Means and stds (NaN where absent or undefined), a row per group and a column per setting."""
    stats = [[run.group_stats(group, setting) for setting in run.settings] for group in groups]
    means = np.array([[math.nan if s is None else s.mean for s in row] for row in stats])
    stds = np.array([[math.nan if s is None or s.std is None else s.std for s in row] for row in stats])
    return means, stds


def finish(axes, run: Run, xlabel: str, title: str, path: Path, grid: str = "both", **legend) -> Path:
    """Label, grid and legend the figure of expected scores `axes` is drawn on, and save it."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(f"expected {run.metric_name}")
    axes.grid(axis=grid, alpha=0.3)
    axes.set_title(f"{run.experiment}: {title}")
    axes.legend(fontsize="small", **legend)
    return save(axes.figure, path)


def expected_figure(run: Run, path: Path) -> Path:
    groups = run.groups
    _, axes = plt.subplots(figsize=(max(6.0, 1.6 * len(run.settings)), 4.5))
    x = np.arange(len(run.settings))
    width = 0.6 / max(len(groups), 1)
    means, stds = stats_of(run, groups)
    for i, group in enumerate(groups):
        axes.errorbar(x + (i - (len(groups) - 1) / 2) * width, means[i], yerr=np.nan_to_num(stds[i]), marker="o",
                      capsize=3, label=group)
    axes.set_xticks(x, list(run.settings))
    return finish(axes, run, "reliability setting", "mean ± std over iterations", path, "y",
                  ncol=1 + len(groups) // 6)


def combinations_figure(run: Run, path: Path) -> Path:
    variants = run.variants
    columns = min(4, len(variants))
    rows = math.ceil(len(variants) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False, sharey=True,
                                layout="constrained")
    jitter = np.random.default_rng(0)
    for ax, variant in zip(axes.flat, variants):
        scores: dict[tuple, list[float]] = {}
        no_path: dict[tuple, bool] = {}
        for record in (r for r in run.records if r["variant"] == variant):
            for combination in record["combinations"]:
                key = tuple(combination["alive"].values())
                scores.setdefault(key, []).append(combination[run.metric])
                no_path[key] = combination["no_path"]
        keys = list(scores)
        dead = np.array([len(key) - sum(key) for key in keys], dtype=float)
        mean = np.array([np.mean(scores[key]) for key in keys])
        blocked = np.array([no_path[key] for key in keys], dtype=bool)
        x = dead + jitter.uniform(-0.25, 0.25, size=len(keys))
        ax.scatter(x[~blocked], mean[~blocked], s=10, alpha=0.7, label="path to the cloud")
        ax.scatter(x[blocked], mean[blocked], s=10, alpha=0.7, color="grey", marker="x", label="no path (guess)")
        ax.set_title(variant, fontsize="medium")
        ax.set_xticks(range(len(run.failable_nodes) + 1))
        ax.set_xlabel("dead nodes")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(variants):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(run.metric_name)
    axes.flat[0].legend(fontsize="small")
    figure.suptitle(f"{run.experiment}: each failure combination (mean over iterations)")
    return save(figure, path)


def survival_figure(run: Run, path: Path) -> Path | None:
    models = {group: run.model_of(group) for group in run.groups}
    rates = sorted((m["survival_rates"], g) for g, m in models.items() if not m["variable_failout"])
    if not rates:
        return None
    variable = [g for g, m in models.items() if m["variable_failout"]]
    _, axes = plt.subplots(figsize=(6.5, 4.5))
    means, stds = stats_of(run, [group for _, group in rates])
    for i, setting in enumerate(run.settings):
        line = axes.errorbar([r for r, _ in rates], means[:, i], yerr=np.nan_to_num(stds[:, i]), marker="o", capsize=3,
                             label=setting)
        for group in variable:
            stats = run.group_stats(group, setting)
            if stats is not None:
                axes.axhline(stats.mean, color=line[0].get_color(), linestyle="--", linewidth=1,
                             label=f"{setting}: {group}")
    return finish(axes, run, "failout survival rate", "dashed = variable failout", path)


def skips_figure(run: Run, path: Path) -> Path | None:
    groups = run.groups
    labels = [run.model_of(g)["skips"] or g for g in groups]
    _, axes = plt.subplots(figsize=(max(6.0, 0.8 * len(groups)), 4.5))
    x = np.arange(len(groups))
    means, stds = stats_of(run, groups)
    width = 0.5 / max(len(run.settings), 1)
    for i, setting in enumerate(run.settings):  # categories: markers, no lines between them
        axes.errorbar(x + (i - (len(run.settings) - 1) / 2) * width, means[:, i], yerr=np.nan_to_num(stds[:, i]),
                      marker="o", linestyle="none", capsize=3, label=setting)
    axes.set_xticks(x, labels, rotation=45 if len(groups) > 8 else 0)
    order = ", ".join(f"{source}->{target}" for source, target in run.skip_order)
    xlabel = "skip hyperconnections on (1) / off (0)" + (f"\nbit order: {order}" if order else "")
    return finish(axes, run, xlabel, "mean ± std over iterations", path)


def learning_curves_figure(run: Run, path: Path) -> Path | None:
    """Train and validation accuracy per epoch of each group (mean, band of ± one std over its
    models), the kept epochs marked."""
    curves = learning_curves(run)
    if not curves:
        return None
    columns = min(3, len(curves))
    rows = math.ceil(len(curves) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False, sharey=True,
                                layout="constrained")
    for ax, (group, c) in zip(axes.flat, curves.items()):
        for mean, std, label in ((c.train_mean, c.train_std, "train"), (c.val_mean, c.val_std, "validation")):
            mean, std = np.array(mean), np.nan_to_num(np.array(std))
            line, = ax.plot(c.epochs, mean, label=label)
            ax.fill_between(c.epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        for i, epoch in enumerate(c.kept):
            ax.axvline(epoch, color="black", linestyle=":", linewidth=1, label="kept epoch" if i == 0 else None)
        ax.set_title(f"{group} ({c.logs} model{'s' if c.logs > 1 else ''})", fontsize="medium")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(curves):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    axes.flat[0].legend(fontsize="small")
    figure.suptitle(f"{run.experiment}: learning curves")
    return save(figure, path)


def draw_figures(run: Run, out: Path) -> list[Path]:
    """Draw every figure of this experiment into `out`; return their paths."""
    name = out / run.experiment
    paths = [expected_figure(run, Path(f"{name}_expected.png")),
             combinations_figure(run, Path(f"{name}_combinations.png"))]
    if run.experiment_type == "failout_rate":
        paths.append(survival_figure(run, Path(f"{name}_survival.png")))
    if run.experiment_type == "skiphyperconnection_sensitivity":
        paths.append(skips_figure(run, Path(f"{name}_skips.png")))
    paths.append(learning_curves_figure(run, Path(f"{name}_learning_curves.png")))
    return [p for p in paths if p is not None]
