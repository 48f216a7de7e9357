"""Result logs of one experiment run: a text log and a JSON file, rewritten atomically.

A run can be resumed from its JSON file: its records are kept and only the missing
(iteration, variant) pairs are run. Records are kept in (iteration, variant) order, whatever order
they arrive in, so a resumed or parallel run writes the same files as a plain one.
"""
from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from resilinet.base.errors import UserError
from resilinet.base.files import publish_new, write_text_atomically
from resilinet.base.settings import Check
from resilinet.core.topology import Topology
from resilinet.runs.settings import absent_values, compared

T = TypeVar("T")


def document_text(document: Mapping[str, Any]) -> str:
    """The text of a results file (.json): indented, one value per line, ending in a newline."""
    return json.dumps(document, indent=1, default=str) + "\n"


def mean_and_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (ddof=1); the std is None for a single value."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return float(mean), None
    return float(mean), float((sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5)


def read_document(path: Path) -> Any:
    """The JSON of a results file (gzipped if its name ends in .gz, as committed), or a UserError naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
        return json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)
    except FileNotFoundError:
        raise UserError(f"{path}: no such results file") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder: give the results files in it, e.g. {path / '*.json'}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, EOFError, gzip.BadGzipFile) as error:
        raise UserError(f"{path} is not a readable results file (truncated or not JSON: {error})") from None


def read_results(path: Path) -> dict[str, Any]:
    """The document of an experiment's results file, or a UserError naming the file."""
    document = read_document(path)
    required = ("experiment", "metric", "config", "failable_nodes", "reliability_settings", "records")
    if not isinstance(document, dict) or any(key not in document for key in required):
        raise UserError(f"{path} is not a results file of these scripts (it lacks {', '.join(required)})")
    return document


def check_document(path: Path, document: dict[str, Any]) -> None:
    """A UserError naming the file when its records lack what the report reads."""
    metric, nodes, settings = document["metric"], document["failable_nodes"], document["reliability_settings"]
    if not isinstance(document["records"], list) or not isinstance(settings, dict):
        raise UserError(f"{path}: records or reliability_settings are malformed")
    for index, record in enumerate(document["records"]):
        try:
            ok = (isinstance(record["iteration"], int) and isinstance(record["variant"], str)
                  and isinstance(record["group"], str) and set(record["average"]) <= set(settings)
                  and all(isinstance(v, (int, float)) for v in record["average"].values())
                  and all(list(c["alive"]) == nodes and isinstance(c["no_path"], bool)
                          and isinstance(c[metric], (int, float)) for c in record["combinations"]))
        except (KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            raise UserError(f"{path}: record {index + 1} is malformed (it needs iteration, variant, group, average "
                            f"per setting, and combinations with alive, no_path and {metric})")
        problem = record_problem(record, document)
        if problem:
            raise UserError(f"{path}: record {index + 1} ({record['variant']}, iteration {record['iteration']}): "
                            f"{problem}")


def record_problem(record: Mapping[str, Any], document: Mapping[str, Any]) -> str:
    """What makes a well-formed record impossible for its run (a hand edit): a variant the run does not
    train, an iteration outside 1..its --iterations, a score that is not a number in [0, 1]; or ''."""
    variants, iterations = document.get("variants") or [], document["config"].get("iterations")
    if variants and record["variant"] not in variants:
        return f"variant {record['variant']!r} is not one of the run's variants ({', '.join(variants)})"
    if isinstance(iterations, int) and not 1 <= record["iteration"] <= iterations:
        return f"iteration {record['iteration']} is outside 1..{iterations} (the run's --iterations)"
    scores = [(f"average under {setting!r}", value) for setting, value in record["average"].items()]
    scores += [(f"{document['metric']} of combination {k + 1}", c[document["metric"]])
               for k, c in enumerate(record["combinations"])]
    for what, value in scores:
        if not (isinstance(value, (int, float)) and 0 <= value <= 1):  # NaN fails both comparisons
            return f"{what} is {value!r}, not a score in [0, 1]"
    return ""


def differing_keys(logged: Mapping[str, Any], current: Mapping[str, Any], experiment: str, check: Check,
                   ignore: Iterable[str] = ()) -> list[str]:
    """The settings `check` compares whose values differ between two configurations of `experiment`
    (JSON-normalised: tuples are lists), except `ignore`. A setting the scripts gained after runs were logged is
    compared as if a configuration without it held the value that reproduces what those runs did
    (`Setting.absent_means`)."""
    absent = absent_values()
    logged, current = {**absent, **logged}, {**absent, **current}
    keys = sorted(k for k in (set(logged) | set(current)) - set(ignore) if compared(k, check, experiment))
    normal = json.loads(json.dumps([[logged.get(k), current.get(k)] for k in keys], default=str))
    return [k for k, (then, now) in zip(keys, normal) if then != now]


@dataclass(frozen=True)
class RunFiles:
    """Where one run keeps the files of its models: weights (and the states of trainings in progress)
    in `weights_dir`, per-epoch training logs in `log_dir`."""

    weights_dir: Path
    log_dir: Path

    def weights(self, iteration: int, variant: str) -> Path:
        """The finished training of a model (present only once its training has ended)."""
        return self.weights_dir / f"{variant}_iter{iteration}.weights.h5"

    def state(self, iteration: int, variant: str) -> Path:
        """The saved state of a training in progress (see resilinet.runs.training)."""
        return self.weights_dir / f"{variant}_iter{iteration}.training.npz"

    def log(self, iteration: int, variant: str) -> Path:
        return self.log_dir / f"{variant}_iter{iteration}.csv"


def run_id(json_path: Path, experiment: str) -> str:
    """The part of a results file's name after the experiment: its start time, -N if taken."""
    return Path(json_path).stem.removeprefix(f"{experiment}_")


def own_weights_dir(models_dir: Path | str, json_path: Path, experiment: str) -> Path:
    """The weights folder a run creates for itself: <models_dir>/<experiment>/<run id>."""
    return Path(models_dir) / experiment / run_id(json_path, experiment)


def run_order(path: Path, experiment: str) -> tuple:
    """Sort key of results files by start time, then by their -N suffix."""
    match = re.fullmatch(r"(.*?)(?:-(\d+))?", run_id(path, experiment))
    return match.group(1), int(match.group(2) or 1)


def results_files(results_dir: Path, experiment: str) -> list[Path]:
    """Results files of `experiment` in `results_dir`, oldest first."""
    pattern = re.compile(rf"{re.escape(experiment)}_\d{{8}}-\d{{6}}(-\d+)?\.json")
    found = [p for p in Path(results_dir).glob(f"{experiment}_*.json") if pattern.fullmatch(p.name)]
    return sorted(found, key=lambda p: run_order(p, experiment))


def lock_path(json_path: Path) -> Path:
    """The lock a process holds on a run while it writes the run's files (resilinet.base.locks)."""
    return Path(json_path).with_suffix(".lock")


def claim_results_name(results_dir: Path, experiment: str, claim: Callable[[Path], T | None]) -> T:
    """Give `claim` the results file names <experiment>_<start time>.json, then with -2, -3, ... after the time,
    skipping names that exist, until it takes one (returns what it made of it, not None): `claim` writes the file
    with `publish_new`, so that of two runs started in the same second each gets its own name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    Path(results_dir).mkdir(parents=True, exist_ok=True)
    for n in itertools.count(1):
        path = Path(results_dir) / f"{experiment}_{stamp if n == 1 else f'{stamp}-{n}'}.json"
        if not path.exists() and (claimed := claim(path)) is not None:
            return claimed


def run_files_of(document: Mapping[str, Any], json_path: Path, experiment: str,
                 models_dir: Path | str | None = None) -> RunFiles:
    """The model files of the run a results document belongs to, looked for where they are now, so that a run
    whose folders were moved is found (never trained again into its old place). Weights: the run's folder under
    `models_dir` (where the user now says they are), then the folder the file names relative to itself, then the
    path it logged; training logs: beside the results file, then relative to it, then as logged. The first that
    exists is taken; where none exists, the first. Files written before runs owned their folders keep their
    weights in <models_dir>/<experiment>/."""
    run, json_path = document.get("run") or {}, Path(json_path)
    relative = run.get("relative_to_results") or {}
    logged_weights = Path(run.get("weights_dir") or Path(document["config"].get("models_dir", "models")) / experiment)
    logged_logs = Path(run.get("training_logs") or json_path.with_suffix(""))
    here = {"weights_dir": own_weights_dir(models_dir, json_path, experiment) if models_dir else None,
            "training_logs": json_path.with_suffix("")}

    def located(key: str, logged: Path) -> Path:
        """The first of (here, relative to the results file, logged) that exists; else here, or the logged path."""
        beside = Path(os.path.normpath(json_path.parent / relative[key])) if relative.get(key) else None
        candidates = [path for path in (here[key], beside, logged) if path is not None]
        return next((path for path in candidates if path.is_dir()), here[key] or logged)

    return RunFiles(located("weights_dir", logged_weights), located("training_logs", logged_logs))


def moved_from(document: Mapping[str, Any], files: RunFiles) -> list[str]:
    """Lines saying which of a run's folders are no longer where its results file logged them, and where
    they are taken from now."""
    run = document.get("run") or {}
    lines = []
    for what, key, now in (("weights", "weights_dir", files.weights_dir), ("training logs", "training_logs",
                                                                           files.log_dir)):
        logged = run.get(key)
        if logged and Path(logged).resolve() != now.resolve():
            lines.append(f"the run's {what} are taken from {now} (its results file named {logged}, "
                         f"{'which also exists' if Path(logged).is_dir() else 'no longer there'})")
    return lines


@dataclass(frozen=True)
class RunDescription:
    """What a results file says of its run besides the records and the commands: the experiment and its type, the
    configuration, the topology, the reliability settings, the metric, and the variants in the order they run."""

    experiment: str
    experiment_type: str
    config: Mapping[str, Any]
    topology: Topology
    reliability_settings: Mapping[str, Sequence[float]]
    metric: str
    variant_order: Sequence[str] = ()


class ResultsLog:
    """Collects one record per trained model and rewrites both files after each record.

    A record is a dict with `iteration`, `variant`, `group`, `combinations` (alive flags by node,
    `no_path`, score), `average` (expected score per reliability setting), and for a trained or
    loaded model `training_log` and `kept_epoch`. The file exists from the run's start (with no
    record yet), and names the run's weights folder and training logs (`run`).
    """

    def __init__(self, json_path: Path, run: RunDescription, files: RunFiles, commands: Sequence[str] = ()):
        self.json_path = Path(json_path)
        self.experiment_type = run.experiment_type
        self.text_path = self.json_path.with_suffix(".txt")
        self.experiment = run.experiment
        self.config = dict(run.config)
        self.topology = run.topology
        self.settings = {name: list(r) for name, r in run.reliability_settings.items()}
        self.metric = run.metric
        self.files = files
        self.variant_order = list(run.variant_order)
        self.commands = list(commands)
        self.records: list[dict[str, Any]] = []
        self.owns_weights = True  # False: it evaluates the weights of another run

    @classmethod
    def create(cls, results_dir: Path, models_dir: Path | None, run: RunDescription, command: str = "",
               saved: RunFiles | None = None) -> ResultsLog:
        """A new run: its results file, written whole with no record yet under a name no other run has, and its own
        weights folder <models_dir>/<experiment>/<run id>/ (or the files of the run whose `saved` weights it
        evaluates)."""
        def claim(json_path: Path) -> ResultsLog | None:
            own = None if saved is not None else own_weights_dir(models_dir, json_path, run.experiment)
            if own is not None:
                try:
                    own.mkdir(parents=True)
                except FileExistsError:
                    return None  # a run writing its results elsewhere holds the weights folder of this name
            log = cls(json_path, run, saved or RunFiles(own, json_path.with_suffix("")), [command] if command else [])
            log.owns_weights = own is not None
            published = False
            try:
                published = log.publish()
            finally:
                if own is not None and not published:
                    own.rmdir()
            return log if published else None

        return claim_results_name(Path(results_dir), run.experiment, claim)

    @classmethod
    def resume(cls, json_path: Path, run: RunDescription, command: str = "") -> ResultsLog:
        """Reopen the results file of an earlier run of the same script and configuration."""
        experiment, config = run.experiment, run.config
        document = read_results(json_path)
        if document["experiment"] != experiment:
            raise UserError(f"--resume: {json_path} is a results file of {document['experiment']}, not of {experiment}")
        check_document(json_path, document)
        evaluated = bool(document["config"].get("evaluate_saved"))
        if evaluated != bool(config.get("evaluate_saved")):
            raise UserError(f"--resume: {json_path} " + ("evaluated saved weights: resume it with --evaluate_saved=true"
                            if evaluated else "trained its models: resume it without --evaluate_saved=true"))
        differing = differing_keys(document["config"], config, experiment, Check.RESUME)
        if differing:
            shown = "; ".join(f"{k}: logged {document['config'].get(k)!r}, given {config.get(k)!r}" for k in differing)
            raise UserError(f"--resume: {json_path} was run with other constants ({shown}); leave those flags out "
                            f"to go on with the logged values, or start a new run")
        files = run_files_of(document, json_path, experiment, None if evaluated else config.get("models_dir"))
        for line in moved_from(document, files):
            print(f"--resume: {line}", flush=True)
        log = cls(json_path, run, files, list(document.get("commands", [])) + ([command] if command else []))
        log.owns_weights = not evaluated
        for record in document["records"]:
            log._insert(record)
        return log

    def untouched(self) -> bool:
        """No record, no training log and no model file of this run yet (a new run that stopped before
        training)."""
        def empty(folder: Path) -> bool:
            return not folder.is_dir() or not any(folder.iterdir())

        if self.records or not self.owns_weights:  # a run evaluating saved weights writes no model file
            return not self.records
        return empty(self.files.log_dir) and empty(self.files.weights_dir)

    def discard(self) -> None:
        """Remove this run's results files and its empty folders."""
        self.json_path.unlink(missing_ok=True)
        self.text_path.unlink(missing_ok=True)
        for folder in (self.files.log_dir, self.files.weights_dir) if self.owns_weights else (self.files.log_dir,):
            try:
                folder.rmdir()
            except OSError:
                pass

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
        rows = []
        for group in dict.fromkeys(record["group"] for record in self.records):
            for setting in self.settings:
                records = [r for r in self.records if r["group"] == group and setting in r["average"]]
                mean, std = mean_and_std([r["average"][setting] for r in records]) if records else (None, None)
                rows.append({"model": group, "setting": setting, "mean": mean, "std": std, "iterations": len(records)})
                bounds = [r["bounds"][setting] for r in records if setting in r.get("bounds", {})]
                if bounds:  # each average is the middle of its bounds: the mean is within half of this
                    rows[-1]["mass_left"] = max(b["mass_left"] for b in bounds)
                estimates = [r["estimates"][setting] for r in records if setting in r.get("estimates", {})]
                if estimates:  # each average is a sampled estimate: the widest half-interval of its 95% interval
                    rows[-1]["sampled_within"] = max((e["high"] - e["low"]) / 2 for e in estimates)
        return rows

    def document(self) -> dict[str, Any]:
        """What the results .json holds: the run's constants, commands and folders, its records and summary."""
        return {"experiment": self.experiment, "experiment_type": self.experiment_type, "metric": self.metric,
                "config": self.config, "commands": self.commands,
                "run": {"weights_dir": str(self.files.weights_dir), "training_logs": str(self.files.log_dir),
                        "relative_to_results": {  # where a moved run's folders are looked for
                            "weights_dir": os.path.relpath(self.files.weights_dir, self.json_path.parent),
                            "training_logs": os.path.relpath(self.files.log_dir, self.json_path.parent)}},
                "failable_nodes": list(self.topology.failable),
                "skip_order": [list(skip) for skip in self.topology.skips],  # the order of a record's skip bits
                "reliability_settings": self.settings, "variants": self.variant_order, "records": self.records,
                "summary": self.summary()}

    def write(self) -> None:
        write_text_atomically(self.json_path, document_text(self.document()))
        write_text_atomically(self.text_path, self.render())

    def publish(self) -> bool:
        """Write the files of a new run under its name, unless another run took the name first (False)."""
        if not publish_new(self.json_path, document_text(self.document()).encode()):
            return False
        try:
            write_text_atomically(self.text_path, self.render())
        except BaseException:
            self.json_path.unlink(missing_ok=True)
            raise
        return True

    def render(self) -> str:
        metric = self.metric.replace("_", "-")
        lines = [f"experiment: {self.experiment}", f"metric: {metric}",
                 "config: " + ", ".join(f"{k}={v}" for k, v in self.config.items()),
                 *(f"command: {command}" for command in self.commands),
                 f"failable nodes: {', '.join(self.topology.failable)}",
                 *(f"reliability setting {name}: {r}" for name, r in self.settings.items())]
        for record in self.records:
            lines += ["", f"== iteration {record['iteration']} | {record['variant']} =="]
            for combination in record["combinations"]:
                alive = tuple(combination["alive"].values())
                note = "  (no path: random guess)" if combination["no_path"] else ""
                lines.append(f"  {self.topology.describe(alive)}  {metric} {combination[self.metric]:.4f}{note}")
            for setting, value in record["average"].items():
                lines.append(f"  average {metric} under {setting} {self.settings[setting]}: {value:.4f}"
                             f"{how_known(record, setting)}")
        iterations = len({record["iteration"] for record in self.records})
        lines += ["", f"== summary: mean and sample std over {iterations} iteration(s) ==",
                  f"{'model':<40} {'setting':<12} {'mean':>8} {'std':>8}  n"]
        for row in self.summary():
            mean, std = ("n/a" if row[key] is None else f"{row[key]:.4f}" for key in ("mean", "std"))
            lines.append(f"{row['model']:<40} {row['setting']:<12} {mean:>8} {std:>8}  {row['iterations']}"
                         f"{how_known_summary(row)}")
        return "\n".join(lines) + "\n"


def how_known(record: dict[str, Any], setting: str) -> str:
    """What a record's expected score under `setting` is, past --exact_max_nodes (empty: exact)."""
    bounds, estimate = record.get("bounds", {}).get(setting), record.get("estimates", {}).get(setting)
    if bounds is not None:
        return (f", within [{bounds['low']:.4f}, {bounds['high']:.4f}] (combinations holding "
                f"{bounds['mass_left']:.2g} of the probability not evaluated)")
    if estimate is not None:
        return (f", 95% interval [{estimate['low']:.4f}, {estimate['high']:.4f}] (sampled: {estimate['draws']} "
                f"combinations drawn, {estimate['evaluated']} distinct evaluated)")
    return ""


def how_known_summary(row: dict[str, Any]) -> str:
    """What a summary row's mean is, past --exact_max_nodes (empty: exact)."""
    if "mass_left" in row:
        return f"  (bounded: within {row['mass_left'] / 2:.2g} of the exact mean)"
    if "sampled_within" in row:
        return f"  (sampled: each iteration's 95% interval within ±{row['sampled_within']:.2g})"
    return ""
