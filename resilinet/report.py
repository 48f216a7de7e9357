"""The paper's tables from results files: pooling runs of one experiment, statistics, markdown.

`python Experiment/report.py RESULTS.json ...` writes, per experiment, `<out>/<experiment>.md`
(tables) and `<out>/<experiment>_*.png` (figures, `resilinet.figures`). Nothing here imports Keras.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from resilinet.errors import UserError
from resilinet.flags import parse_flags
from resilinet.files import write_text_atomically
from resilinet.results import check_document, differing_keys, mean_and_std, read_results

# Besides NON_RESULT_KEYS, pooled files may differ in these: a seed only names independent iterations.
POOL_IGNORED_KEYS = ("seed", "argv")
DEFAULTS = {"out": "results/report", "readme": False}
DESCRIPTION = """Tables and figures of the paper from the results files of the experiment scripts.

Files of one experiment pool their iterations (their configurations may differ only in the seed and
in flags that do not change results); files of different experiments each get their own report:
<out>/<experiment>.md and <out>/<experiment>_*.png. --readme=true prints only the summary tables
as markdown for README's Results section and writes nothing."""
DIGITS = 4


@dataclass
class Stats:
    """Mean, sample std (None for one value) and 95% Student-t interval (None for one value)."""

    n: int
    mean: float
    std: float | None
    ci: tuple[float, float] | None


def statistics(values: Sequence[float]) -> Stats:
    mean, std = mean_and_std(values)
    n = len(values)
    ci = None
    if std is not None:
        half = t_quantile_975(n - 1) * std / math.sqrt(n)
        ci = (mean - half, mean + half) if half == half else None
    return Stats(n, mean, std, ci)


def t_quantile_975(dof: int) -> float:
    """The 97.5% quantile of Student's t (NaN, so no interval, when scipy is missing)."""
    try:
        from scipy.stats import t
    except ImportError:
        return math.nan
    return float(t.ppf(0.975, dof))


@dataclass
class Run:
    """All records of one experiment, pooled over one or more results files."""

    experiment: str
    metric: str
    failable_nodes: list[str]
    settings: dict[str, list[float]]
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

    @property
    def variants(self) -> list[str]:
        return list(dict.fromkeys(record["variant"] for record in self.records))

    def add(self, path: Path, document: dict[str, Any]) -> None:
        if self.paths:
            first = self.paths[0]
            keys = differing_keys(self.configs[0], document["config"], POOL_IGNORED_KEYS)
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
        values = [r["average"][setting] for r in self.records if r["group"] == group and setting in r["average"]]
        return statistics(values) if values else None

    def single_failures(self, group: str) -> dict[str, tuple[Stats, bool]]:
        """Score with no node dead ("none") and with exactly one node dead, with its no-path flag."""
        cells = {}
        for dead in ("none", *self.failable_nodes):
            values, no_path = [], False
            for record in (r for r in self.records if r["group"] == group):
                for combination in record["combinations"]:
                    if all(up == (node != dead) for node, up in combination["alive"].items()):
                        values.append(combination[self.metric])
                        no_path = no_path or combination["no_path"]
            if values:
                cells[dead] = (statistics(values), no_path)
        return cells


def load_runs(paths: Sequence[Path]) -> list[Run]:
    """One Run per experiment, in the order the files name them; files of one experiment pooled."""
    runs: dict[str, Run] = {}
    for path in map(Path, paths):
        document = read_results(path)
        check_document(path, document)
        experiment = document["experiment"]
        run = runs.setdefault(experiment, Run(experiment, document["metric"], document["failable_nodes"],
                                              document["reliability_settings"]))
        run.add(path, document)
    for run in runs.values():
        if not run.records:
            raise UserError(f"{', '.join(map(str, run.paths))}: no records of {run.experiment} yet")
    return list(runs.values())


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
    from resilinet.training_log import read_log

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
        columns = {key: [[rows[e][key] for rows in logs] for e in range(length)] for key in ("accuracy", "val_accuracy")}
        stats = {key: [mean_and_std(values) for values in columns[key]] for key in columns}
        std = lambda pairs: [math.nan if sd is None else sd for _, sd in pairs]  # noqa: E731
        curves[group] = Curves(list(range(1, length + 1)), [m for m, _ in stats["accuracy"]], std(stats["accuracy"]),
                               [m for m, _ in stats["val_accuracy"]], std(stats["val_accuracy"]),
                               [k for k in kept if k is not None], len(logs))
    return curves


def training_table(curves: dict[str, Curves]) -> list[str]:
    rows = []
    for group, c in curves.items():
        best = max(range(len(c.val_mean)), key=lambda e: c.val_mean[e])
        rows.append([group, str(c.logs), str(len(c.epochs)), ", ".join(str(k) for k in c.kept) or "n/a",
                     number(c.train_mean[-1]), number(c.val_mean[-1]), f"{number(c.val_mean[best])} (epoch {best + 1})"])
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


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def metric_name(run: Run) -> str:
    return {"micro_f1": "micro-F1", "accuracy": "accuracy"}.get(run.metric, run.metric)


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


def shared_config(run: Run) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Configuration values all files share, and the values per file of those that differ."""
    keys = list(dict.fromkeys(k for config in run.configs for k in config))
    shared, varying = {}, {}
    for key in keys:
        values = [config.get(key) for config in run.configs]
        if all(value == values[0] for value in values):
            shared[key] = values[0]
        else:
            varying[key] = values
    return shared, varying


def render_report(run: Run, figures: Sequence[str] = ()) -> str:
    """The markdown report of one (pooled) experiment."""
    iterations = len({(seed, iteration) for seed, iteration, _ in run.origin})
    lines = [f"# {run.experiment}", "",
             f"Expected {metric_name(run)} over all failure combinations of {', '.join(run.failable_nodes)}, "
             f"per reliability setting: mean ± sample std over iterations, number of iterations n and the 95% "
             f"Student-t confidence interval of the mean (n/a for one iteration or a setting a model is not "
             f"evaluated under). {len(run.records)} trained models, {iterations} (seed, iteration) pairs, "
             f"from {len(run.paths)} results file(s).", ""]
    lines += [f"**Incomplete:** {note}; cells may pool different numbers of iterations (see n).\n"
              for note in run.incomplete]
    lines += summary_table(run)
    if run.experiment.endswith("_average_accuracy"):
        lines += ["", "## Individual node failures", "",
                  f"The {metric_name(run)} with no node dead and with exactly one failable node dead, "
                  "mean ± sample std over the n iterations. † no path to the cloud: the score is that of "
                  "random guessing.", ""]
        lines += single_failure_table(run)
    curves = learning_curves(run)
    if curves:
        figure = next((name for name in figures if name.endswith("_learning_curves.png")), None)
        lines += ["", "## Training", "",
                  "From each model's per-epoch training log (mean over the models of a row); the kept epoch is the "
                  "one whose weights were evaluated (best validation accuracy)."
                  + (f" Learning curves: [{figure}]({figure})." if figure else ""), ""]
        lines += training_table(curves)
    lines += ["", "## Reliability settings", ""]
    lines += table(["setting", *run.failable_nodes],
                   [[name, *(str(r) for r in values)] for name, values in run.settings.items()])
    shared, varying = shared_config(run)
    lines += ["", "## Configuration", ""]
    lines += table(["flag", "value"], [[key, f"`{value}`" if str(value) else "(empty)"] for key, value in shared.items()])
    if varying:
        lines += ["", "Differing between the files (flags that do not change results, and the seed):", ""]
        lines += [f"- `{key}`: " + ", ".join(f"`{v}`" for v in values) for key, values in varying.items()]
    lines += ["", "## Commands", ""]
    for path, commands in zip(run.paths, run.commands):
        count = sum(1 for origin in run.origin.values() if origin == path)
        lines += [f"`{path}` ({count} records):", "", "```"] + (commands or ["(not recorded)"]) + ["```", ""]
    if figures:
        lines += ["## Figures", ""] + [f"![{name}]({name})" for name in figures] + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def readme_tables(runs: Sequence[Run]) -> str:
    """The summary tables as markdown for README's Results section: `mean ± std` cells."""
    blocks = []
    for run in runs:
        counts = sorted({s.n for g in run.groups for s in [run.group_stats(g, x) for x in run.settings] if s})
        over = f"{counts[0]} iterations" if len(counts) == 1 else f"{counts[0]}-{counts[-1]} iterations (n per cell)"
        cell = mean_std if len(counts) == 1 else (lambda s: "n/a" if s is None else f"{mean_std(s)} (n={s.n})")
        commands = [c for cs in run.commands for c in cs]
        notes = [f"**Incomplete:** {note}" for note in run.incomplete]
        blocks.append("\n".join([f"{run.experiment}: expected {metric_name(run)}, mean ± sample std over {over}",
                                 *(f"`{c}`" for c in commands), *notes, "", *summary_table(run, cell)]))
    return "\n\n".join(blocks) + "\n"


def write_report(runs: Sequence[Run], out: Path) -> list[Path]:
    """Write each run's figures and markdown report into `out`; return the paths written."""
    from resilinet.figures import draw_figures  # matplotlib only when figures are drawn

    from resilinet.output_dirs import check_writable_directory

    check_writable_directory(out, "out")
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for run in runs:
            figures = draw_figures(run, out)
            report = out / f"{run.experiment}.md"
            write_text_atomically(report, render_report(run, [p.name for p in figures]))
            written += [report, *figures]
    except OSError as error:
        raise UserError(f"--out={out}: cannot write the report there ({error.strerror or error})") from None
    return written


def main(argv: Sequence[str] | None = None, program: str = "Experiment/report.py") -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        flags = [a for a in argv if a.startswith("-")]
        paths = [a for a in argv if not a.startswith("-")]
        config = parse_flags(DEFAULTS, flags, DESCRIPTION, f"{program} RESULTS.json [RESULTS.json ...]")
        if not paths:
            raise UserError("give at least one results file (results/<script>_<time>.json); see --help")
        runs = load_runs([Path(p) for p in paths])
        for note in (note for run in runs for note in run.incomplete):
            print(f"note: {note}", file=sys.stderr)
        if config.readme:
            print(readme_tables(runs), end="")
            return
        for path in write_report(runs, Path(config.out)):
            print(path)
    except UserError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
