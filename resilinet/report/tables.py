"""The paper's tables from pooled results files, as markdown (`render_report`, `readme_tables`), and the files of a
report (`write_report`): per experiment, `<out>/<experiment>.md` (tables) and `<out>/<experiment>_*.png` (figures,
`resilinet.report.figures`). Its command line: cli/report_script.py. Nothing here imports Keras.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from resilinet.base.errors import UserError
from resilinet.base.files import write_text_atomically
from resilinet.core.failure_models import describe
from resilinet.report.failures import UnderModel, write_under_model
from resilinet.report.pooled import Curves, Run, Stats, learning_curves, statistics

DIGITS = 4


def training_table(curves: dict[str, Curves]) -> list[str]:
    rows = []
    for group, c in curves.items():
        best = max(range(len(c.val_mean)), key=lambda e: c.val_mean[e])
        rows.append([group, str(c.logs), str(len(c.epochs)), ", ".join(str(k) for k in c.kept) or "n/a",
                     number(c.train_mean[-1]), number(c.val_mean[-1]),
                     f"{number(c.val_mean[best])} (epoch {best + 1})"])
    return table(["model", "logs", "epochs", "kept epoch(s)", "last train accuracy", "last val accuracy",
                  "best mean val accuracy"], rows)


def number(value: float) -> str:
    return f"{value:.{DIGITS}f}"


def mean_std(stats: Stats | None) -> str:
    if stats is None:
        return "n/a"
    return f"{number(stats.mean)} ± {'n/a' if stats.std is None else number(stats.std)}"


def full_cell(stats: Stats | None) -> str:
    if stats is None:
        return "n/a"
    ci = "n/a" if stats.ci is None else f"{number(stats.ci[0])}–{number(stats.ci[1])}"
    return f"{mean_std(stats)} (n={stats.n}; 95% CI {ci})"


def signed(value: float) -> str:
    return f"{value:+.{DIGITS}f}"


def difference_cell(stats: Stats | None) -> str:
    """A paired difference as `+mean ± std (n; 95% CI low to high)`, in bold when the interval as printed
    excludes 0."""
    if stats is None:
        return "n/a"
    std = "n/a" if stats.std is None else number(stats.std)
    ci = "n/a" if stats.ci is None else f"{signed(stats.ci[0])} to {signed(stats.ci[1])}"
    cell = f"{signed(stats.mean)} ± {std} (n={stats.n}; 95% CI {ci})"
    low, high = (round(bound, DIGITS) for bound in stats.ci or (0.0, 0.0))
    return f"**{cell}**" if low > 0 or high < 0 else cell


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def summary_table(run: Run, cell=full_cell) -> list[str]:
    """Rows: models or variants in run order; columns: reliability settings in order."""
    rows = [[group] + [cell(run.group_stats(group, s)) for s in run.settings] for group in run.groups]
    return table(["model", *run.settings], rows)


def single_failure_table(run: Run) -> list[str]:
    rows = []
    for group in run.groups:
        cells = run.single_failures(group)
        n = max((stats.n for stats, _ in cells.values()), default=0)
        rows.append([group, str(n)] + [mean_std(cells[d][0]) + (" †" if cells[d][1] else "") if d in cells else "n/a"
                                       for d in ("none", *run.failable_nodes)])
    return table(["model", "n", "none dead", *(f"{node} dead" for node in run.failable_nodes)], rows)


def step_table(run: Run, columns: Mapping[str, Callable[[int], float | None]]) -> list[str]:
    """Rows: each model minus the one before it in run order, paired by iteration; columns: a score of a record each
    (the reliability settings, a failure model)."""
    rows = [[f"{after} − {before}"] + [difference_cell(run.paired_difference(after, before, score))
                                      for score in columns.values()]
            for before, after in zip(run.groups, run.groups[1:])]
    return table(["models", *columns], rows)


def failure_model_section(run: Run, under: UnderModel) -> list[str]:
    """The markdown section of a run under a failure model: a row per trained model (`Run.models`), the paper's
    settings, then the failure model (and its sampled estimate)."""
    name = under.path.name
    estimates = [e for model in run.models for e in under.sampled[model]]
    header = ["model", *run.settings, f"`{name}`"] + ([f"`{name}`, sampled"] if estimates else [])
    rows = []
    for model in run.models:
        row = [model, *(mean_std(run.model_stats(model, s)) for s in run.settings),
               f"**{mean_std(under.stats(model))}**"]
        if estimates:
            mine = under.sampled[model]
            half = sum(e.high - e.low for e in mine) / (2 * len(mine))
            row.append(f"{mean_std(statistics([e.mean for e in mine]))} (95% interval of one iteration: "
                       f"± {number(half)})")
        rows.append(row)
    lines = ["", f"## Under the failure model `{name}`", "",
             f"{describe(under.model, run.failable_nodes)}. Expected {run.metric_name} per model, mean ± sample std "
             "over its iterations, from the stored score of every failure combination; the paper's settings beside it."]
    if estimates:
        evaluated = [e.evaluated for e in estimates]
        lines[-1] += (f" Sampled: each iteration's estimate from {estimates[0].draws} combinations drawn from the "
                      f"model ({min(evaluated)}-{max(evaluated)} distinct ones scored of "
                      f"{2 ** len(run.failable_nodes)}), "
                      "with its 95% interval (mean ± 1.96 standard errors; each one in the JSON beside this report).")
    lines += ["", *table(header, rows)]
    if run.compares_kinds:
        lines += ["", f"What each model adds under `{name}`, paired by iteration as above (bold: the 95% interval "
                  "excludes 0):", ""]
        lines += step_table(run, {f"`{name}`": under.per_record.__getitem__})
    return lines


def shared_config(run: Run) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Configuration values all files share, and the values per file of those that differ."""
    keys = dict.fromkeys(k for config in run.configs for k in config)
    values = {key: [config.get(key) for config in run.configs] for key in keys}
    shared = {key: v[0] for key, v in values.items() if all(value == v[0] for value in v)}
    return shared, {key: v for key, v in values.items() if key not in shared}


def render_report(run: Run, figures: Sequence[str] = (), under: Sequence[str] = ()) -> str:
    """The markdown report of one (pooled) experiment; `under`: the lines of its section under a failure model."""
    lines = [*introduction(run), *summary_table(run)]
    if run.compares_kinds:
        lines += ["", "## What each model adds", "",
                  f"Each model's expected {run.metric_name} minus that of the model before it: DFG − Vanilla is what "
                  "the skip hyperconnections add, ResiliNet − DFG what failout and ResiliNet's multiplexer add to "
                  "them (ResiliNet+ − DFG: failout alone). Paired by iteration: mean ± sample std of the "
                  "per-iteration differences, n pairs and the 95% Student-t interval of the mean difference. "
                  "**Bold**: the interval excludes 0, a difference larger than the spread between iterations.", ""]
        lines += step_table(run, {s: run.setting_score(s) for s in run.settings})
    lines += under
    if run.experiment_type == "average_accuracy":
        lines += ["", "## Individual node failures", "",
                  f"The {run.metric_name} with no node dead and with exactly one failable node dead, "
                  "mean ± sample std over the n iterations. † no path to the cloud: the score is that of "
                  "random guessing.", ""]
        lines += single_failure_table(run)
        if run.compares_kinds:
            lines += ["", "What each model adds with one node dead, paired by iteration as in \"What each model adds\" "
                      "(bold: the 95% interval excludes 0):", ""]
            lines += step_table(run, {f"{node} dead": run.single_failure_score(node) for node in run.failable_nodes})
    curves = learning_curves(run)
    if curves:
        figure = next((name for name in figures if name.endswith("_learning_curves.png")), None)
        lines += ["", "## Training", "",
                  "From each model's per-epoch training log (mean over the models of a row); the kept epoch is the "
                  "one whose weights were evaluated (best validation accuracy)."
                  + (f" Learning curves: [{figure}]({figure})." if figure else ""), ""]
        lines += training_table(curves)
    lines += [*how_it_ran(run), *(["## Figures", ""] + [f"![{name}]({name})" for name in figures] + [""]
                                  if figures else [])]
    return "\n".join(lines).rstrip("\n") + "\n"


def introduction(run: Run) -> list[str]:
    """The report's title and what its numbers are; notes on incomplete runs and bounded evaluations."""
    iterations = len({(seed, iteration) for seed, iteration, _ in run.origin})
    lines = [f"# {run.experiment}", "",
             f"Expected {run.metric_name} over all failure combinations of {', '.join(run.failable_nodes)}, "
             f"per reliability setting: mean ± sample std over iterations, number of iterations n and the 95% "
             f"Student-t confidence interval of the mean (n/a for one iteration or a setting a model is not "
             f"evaluated under). {len(run.records)} trained models, {iterations} (seed, iteration) pairs, "
             f"from {len(run.paths)} results file(s).", ""]
    lines += [f"**Incomplete:** {note}; cells may pool different numbers of iterations (see n).\n"
              for note in run.incomplete]
    left = run.mass_left()
    if left:
        lines += ["**Bounded:** some models were evaluated only under the most probable failure combinations "
                  "(`--exact_max_nodes`, `--mass_left`). The most probability left unevaluated: "
                  + ", ".join(f"{setting} {mass:.2g}" for setting, mass in left.items())
                  + ". Each such expected score is the middle of the interval it is known to lie in, so it is "
                  "within half of that of the exact value.\n"]
    within = run.sampled_within()
    if within:
        lines += ["**Sampled:** some models were evaluated only under failure combinations drawn from each reliability "
                  "setting (`--exact_max_nodes`, `--draws`); each such expected score is the mean score of the "
                  "draws, and its 95% confidence interval is at most this wide either side: "
                  + ", ".join(f"{setting} ±{half:.2g}" for setting, half in within.items()) + ".\n"]
    return lines


def how_it_ran(run: Run) -> list[str]:
    """The reliability settings, the configuration and the commands of the pooled files."""
    lines = ["", "## Reliability settings", ""]
    lines += table(["setting", *run.failable_nodes], [[name, *map(str, rates)] for name, rates in run.settings.items()])
    shared, varying = shared_config(run)
    lines += ["", "## Configuration", ""]
    lines += table(["flag", "value"],
                   [[key, f"`{value}`" if str(value) else "(empty)"] for key, value in shared.items()])
    if varying:
        lines += ["", "Differing between the files (flags that do not change results, and the seed):", ""]
        lines += [f"- `{key}`: " + ", ".join(f"`{v}`" for v in values) for key, values in varying.items()]
    lines += ["", "## Commands", ""]
    for path, commands in zip(run.paths, run.commands):
        count = sum(1 for origin in run.origin.values() if origin == path)
        lines += [f"`{path}` ({count} records):", "", "```"] + (commands or ["(not recorded)"]) + ["```", ""]
    return lines


def readme_tables(runs: Sequence[Run]) -> str:
    """The summary tables as markdown for README's Results section: `mean ± std` cells."""
    blocks = []
    for run in runs:
        counts = sorted({s.n for g in run.groups for s in [run.group_stats(g, x) for x in run.settings] if s})
        over = f"{counts[0]} iterations" if len(counts) == 1 else f"{counts[0]}-{counts[-1]} iterations (n per cell)"
        cell = mean_std if len(counts) == 1 else (lambda s: "n/a" if s is None else f"{mean_std(s)} (n={s.n})")
        commands = [c for cs in run.commands for c in cs]
        notes = [f"**Incomplete:** {note}" for note in run.incomplete]
        blocks.append("\n".join([f"{run.experiment}: expected {run.metric_name}, mean ± sample std over {over}",
                                 *(f"`{c}`" for c in commands), *notes, "", *summary_table(run, cell)]))
    return "\n\n".join(blocks) + "\n"


def write_report(runs: Sequence[Run], out: Path, under: Mapping[str, UnderModel] | None = None) -> list[Path]:
    """Write each run's figures and markdown report into `out`, and for a run in `under` (by experiment) its numbers
    under that failure model; return the paths written (imports matplotlib)."""
    from resilinet.base.folders import check_writable_directory
    from resilinet.report.figures import draw_figures

    check_writable_directory(out, "out")
    under = under or {}
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for run in runs:
            figures = draw_figures(run, out)
            extra = write_under_model(run, under[run.experiment], out) if run.experiment in under else []
            figures += [path for path in extra if path.suffix == ".png"]
            lines = failure_model_section(run, under[run.experiment]) if run.experiment in under else []
            report = out / f"{run.experiment}.md"
            write_text_atomically(report, render_report(run, [p.name for p in figures], lines))
            written += [report, *figures, *(path for path in extra if path.suffix != ".png")]
    except OSError as error:
        raise UserError(f"--out={out}: cannot write the report there ({error.strerror or error})") from None
    return written
