"""The scores on the results page and the front door are the committed runs' scores. A table of scores names, in a
comment on the line above it, the results file(s) it comes from and what each column holds, for example

    <!-- numbers: reproduction/cifar/results/R.json.gz | settings dead:fog model:reproduction/failure_models/F.csv - -->

`settings`: one column per reliability setting of the run, in its order; `dead:<node>` (`dead:none`): the score with
exactly that node dead (none dead); `model:<file>`: the expected score under that failure model file; `-`: a column
without scores (a command). A row is a model (mean over its iterations, `± std` where it shows one, which it must
for more than one iteration; under a failure model each model of a per-setting group has its own row), `A − B` (A's
score minus B's, paired by iteration; its spread may instead be the row below) or `the same, paired by iteration:
95% CI` (the interval of the difference above it). Every cell is recomputed here from the per-combination scores the
files store, as the report computes it; anything after the number (bold, a note) is the writer's.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

from resilinet.core.failure_files import read_failure_model
from resilinet.report.failures import under_model
from resilinet.report.pooled import Run, Stats, load_runs, statistics

PAGES = [REPO / "README.md", REPO / "docs" / "results.md"]
MARKER = re.compile(r"^<!-- numbers: (?P<files>\S.*?) \| (?P<columns>\S.*?) -->$")
SCORE = re.compile(r"\d\.\d{4}")
CELL = re.compile(r"^(?P<mean>[+-]?\d\.\d{4})(?: ± (?P<std>\d\.\d{4}|n/a))?(?:$|[ †(])")
INTERVAL = re.compile(r"^(?P<low>[+-]\d\.\d{4}) to (?P<high>[+-]\d\.\d{4})$")
INTERVAL_ROW = "the same, paired by iteration: 95% CI"

Score = Callable[[int], "float | None"]


@dataclass(frozen=True)
class Table:
    page: Path
    line: int  # of the header, counted from 1
    marker: re.Match | None
    header: list[str]
    rows: list[list[str]]

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def cells(line: str) -> list[str]:
    """A markdown table row's cells, without bold markers, with the minus sign written as `-`."""
    return [cell.strip().replace("**", "").replace("−", "-") for cell in line.strip().strip("|").split("|")]


def tables(page: Path) -> list[Table]:
    lines = page.read_text().splitlines()
    found, index = [], 0
    while index < len(lines):
        if lines[index].startswith("|") and (index == 0 or not lines[index - 1].startswith("|")):
            end = index
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            marker = MARKER.match(lines[index - 1]) if index else None
            found.append(Table(page, index + 1, marker, cells(lines[index]), [cells(x) for x in lines[index + 2:end]]))
            index = end
        index += 1
    return found


SCORED = [t for page in PAGES for t in tables(page) if any(SCORE.search(c) for row in t.rows for c in row[1:])]


@functools.cache
def committed_run(files: str) -> Run:
    runs = load_runs([REPO / name for name in files.split()])
    assert len(runs) == 1, f"{files}: one experiment per table"
    return runs[0]


@functools.cache
def failure_model_scores(files: str, model: str) -> Score:
    run, path = committed_run(files), REPO / model
    return under_model(run, path, read_failure_model(path, run.failable_nodes)).per_record.__getitem__


def column_scores(table: Table, run: Run) -> list[Score | None]:
    """Each column's score of a record (None: a column without scores), checked against the header's words."""
    scores: list[Score | None] = []
    for token in table.marker["columns"].split():
        if token == "settings":
            for setting in run.settings:
                assert table.header[len(scores) + 1].startswith(setting), f"{table.where}: column {setting}"
                scores.append(run.setting_score(setting))
        elif token.startswith("dead:"):
            node = token.removeprefix("dead:")
            assert node in ("none", *run.failable_nodes), f"{table.where}: no node {node} in {run.experiment}"
            assert table.header[len(scores) + 1] == f"{node} dead", f"{table.where}: column {node} dead"
            scores.append(run.single_failure_score(node))
        elif token.startswith("model:"):
            scores.append(failure_model_scores(table.marker["files"], token.removeprefix("model:")))
        else:
            assert token == "-", f"{table.where}: unknown column {token!r}"
            scores.append(None)
    assert len(scores) == len(table.header) - 1, f"{table.where}: the marker names {len(scores)} columns"
    return scores


def row_of(run: Run, label: str, per_model: bool, record: dict) -> bool:
    """Whether `record` is one of a row's: of that model (`Run.models`), or of that group."""
    return (run.model_label(record) if per_model else record["group"]) == label


def chosen_stats(run: Run, chosen: Callable[[dict], bool], score: Score) -> Stats | None:
    values = [v for i, record in enumerate(run.records) if chosen(record) and (v := score(i)) is not None]
    return statistics(values) if values else None


def check_score(cell: str, stats: Stats | None, signed: bool, spread_below: bool, where: str) -> None:
    if stats is None:
        assert cell.startswith("n/a"), f"{where}: {cell!r}, but the run holds no such score"
        return
    match = CELL.match(cell)
    assert match, f"{where}: {cell!r} is not a score"
    assert match["mean"] == (f"{stats.mean:+.4f}" if signed else f"{stats.mean:.4f}"), f"{where}: {stats}"
    if match["std"] is None:
        assert stats.n == 1 or spread_below, f"{where}: {stats.n} iterations, but the cell shows no spread"
    else:
        assert match["std"] == ("n/a" if stats.std is None else f"{stats.std:.4f}"), f"{where}: {stats}"


def test_every_table_of_scores_names_where_they_come_from():
    unnamed = [t.where for t in SCORED if t.marker is None]
    assert not unnamed, f"tables of scores without a `<!-- numbers: ... -->` line above them: {unnamed}"


@pytest.mark.parametrize("table", [t for t in SCORED if t.marker], ids=lambda t: t.where)
def test_every_score_on_the_page_is_recomputed_from_its_results_file(table):
    run = committed_run(table.marker["files"])
    scores = column_scores(table, run)
    under_failure_models = "model:" in table.marker["columns"]
    shown, difference = set(), None
    for number, row in enumerate(table.rows):
        label, where = row[0], f"{table.where}, row {row[0]!r}"
        if label == INTERVAL_ROW:
            assert difference is not None, f"{where}: no difference above it"
            for cell, stats in zip(row[1:], difference):
                match = INTERVAL.match(cell)
                assert match and stats.ci, f"{where}: {cell!r} is not an interval of several iterations"
                assert (match["low"], match["high"]) == tuple(f"{b:+.4f}" for b in stats.ci), f"{where}: {stats}"
            continue
        if label in run.groups or label in run.models:  # a group of one model is both
            per_model = label in run.models
            assert per_model or not under_failure_models, \
                f"{where}: under a failure model each model of a per-setting group has its row ({run.models})"
            chosen = functools.partial(row_of, run, label, per_model)
            stats = [None if s is None else chosen_stats(run, chosen, s) for s in scores]
            shown |= {run.model_label(r) for r in run.records if chosen(r)}
        else:
            after, _, before = label.partition(" - ")
            assert {after, before} <= set(run.groups), f"{where}: neither a model of {run.experiment} nor A − B"
            stats = [None if s is None else run.paired_difference(after, before, s) for s in scores]
        difference_row = label not in run.groups and label not in run.models
        spread_below = table.rows[number + 1:number + 2] != [] and table.rows[number + 1][0] == INTERVAL_ROW
        for cell, score, value in zip(row[1:], scores, stats):
            if score is None:
                assert not SCORE.search(cell), f"{where}: a score in a column the marker says holds none"
            else:
                check_score(cell, value, difference_row, spread_below and difference_row, where)
        difference = stats if difference_row else None
    assert shown == set(run.models), f"{table.where}: models of {run.experiment} left out: {set(run.models) - shown}"
