"""Failure models read from the small files a user writes by hand, each checked with a one-line error that names
the file, the key or row, and what is wrong.

JSON, independent failures (the paper's semantics; a node not named never fails):

    {"kind": "independent", "survival": {"fog1": 0.8, "edge1": 0.7}}

JSON, shared failure domains on top of each node's own survival:

    {"kind": "shared_domains", "survival": {"fog1": 0.95, "fog2": 0.95},
     "domains": {"fog power feed": {"nodes": ["fog1", "fog2"], "down": 0.05}}}

CSV, an outage trace: a header `node,down_from,down_until`, one row per outage, and one row `window,FROM,UNTIL`
giving the observation window; times in seconds or ISO-8601 (one kind per file; ISO times without a zone are UTC):

    node,down_from,down_until
    window,2026-01-01T00:00:00,2026-01-02T00:00:00
    fog1,2026-01-01T03:00:00,2026-01-01T05:30:00
"""
from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from resilinet.base.errors import UserError
from resilinet.core.failure_models import Domain, FailureModel, Independent, Outage, OutageTrace, SharedDomains

KINDS = ("independent", "shared_domains")
TRACE_HEADER = ["node", "down_from", "down_until"]
WINDOW = "window"


def read_failure_model(path: Path, nodes: Sequence[str]) -> FailureModel:
    """The failure model in `path` (JSON: independent or shared_domains; CSV: an outage trace) over the failable
    `nodes`; a UserError naming the file and what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark, as spreadsheets write, is not content
    except FileNotFoundError:
        raise UserError(f"--failure_model={path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read the failure model ({error})") from None
    if not text.strip():
        raise UserError(f"{path}: the failure model file is empty")
    if path.suffix.lower() == ".csv":
        return read_trace(path, text, nodes)
    return read_json_model(path, text, nodes)


class RepeatedKey(ValueError):
    """A key given twice in one JSON object, which `json.loads` would keep only the last value of."""


def without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = next((key for key in keys if keys.count(key) > 1), None)
    if repeated is not None:
        raise RepeatedKey(repeated)
    return dict(pairs)


def read_json_model(path: Path, text: str, nodes: Sequence[str]) -> FailureModel:
    try:
        document = json.loads(text, object_pairs_hook=without_repeated_keys)
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: line {error.lineno}: not JSON ({error.msg})") from None
    except RepeatedKey as error:
        raise UserError(f"{path}: {error}: given twice in one object (JSON would keep only the last value); "
                        "give it once") from None
    if not isinstance(document, dict) or document.get("kind") not in KINDS:
        raise UserError(f"{path}: kind: must be one of {', '.join(KINDS)} (or a .csv outage trace), "
                        f"got {document.get('kind') if isinstance(document, dict) else document!r}")
    expected = {"kind", "survival"} | ({"domains"} if document["kind"] == "shared_domains" else set())
    unexpected = sorted(set(document) - expected)
    if unexpected:
        raise UserError(f"{path}: {unexpected[0]}: not a key of a {document['kind']} model "
                        f"(its keys: {', '.join(sorted(expected))})")
    survival = probabilities_of(path, "survival", document.get("survival", {}), nodes)
    if document["kind"] == "independent":
        if not survival:
            raise UserError(f"{path}: survival: names no node, so none can fail (a node not named never fails); "
                            'give each failable node\'s probability of being alive, {"NODE": PROBABILITY, ...}')
        refuse_the_no_failure_setting(path, survival, ())
        return Independent(survival)
    domains = document.get("domains")
    if not isinstance(domains, dict) or not domains:
        raise UserError(f"{path}: domains: give at least one domain as "
                        '{"NAME": {"nodes": [...], "down": PROBABILITY}}')
    read_domains = tuple(read_domain(path, name, entry, nodes) for name, entry in domains.items())
    refuse_the_no_failure_setting(path, survival, read_domains)
    return SharedDomains(survival, read_domains)


def refuse_the_no_failure_setting(path: Path, survival: dict[str, float], domains: Sequence[Domain]) -> None:
    """A model under which no node can fail is the report's "no failure" column: a mistake, not a model."""
    if all(p == 1.0 for p in survival.values()) and all(domain.down == 0.0 for domain in domains):
        given = "every survival is 1" + (" and every domain's down is 0" if domains else "")
        raise UserError(f"{path}: no node can fail under this model ({given}): that is the no-failure setting")


def read_domain(path: Path, name: str, entry: Any, nodes: Sequence[str]) -> Domain:
    where = f"domains.{name}"
    if not isinstance(entry, dict) or set(entry) != {"nodes", "down"}:
        raise UserError(f"{path}: {where}: needs exactly the keys nodes (a list of node names) and down "
                        "(the probability that the whole domain is down)")
    members = entry["nodes"]
    if not isinstance(members, list) or not members or not all(isinstance(n, str) for n in members):
        raise UserError(f"{path}: {where}.nodes: must be a non-empty list of node names")
    for node in members:
        check_node(path, f"{where}.nodes", node, nodes)
    if len(set(members)) != len(members):
        raise UserError(f"{path}: {where}.nodes: names a node twice")
    return Domain(name, tuple(members), probability(path, f"{where}.down", entry["down"]))


def probabilities_of(path: Path, where: str, values: Any, nodes: Sequence[str]) -> dict[str, float]:
    if not isinstance(values, dict):
        raise UserError(f"{path}: {where}: must map node names to probabilities")
    for node in values:
        check_node(path, f"{where}.{node}", node, nodes)
    return {node: probability(path, f"{where}.{node}", value) for node, value in values.items()}


def probability(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise UserError(f"{path}: {where}: a probability must be a number in [0, 1], got {json.dumps(value)}")
    return float(value)


def check_node(path: Path, where: str, node: str, nodes: Sequence[str]) -> None:
    if node not in nodes:
        raise UserError(f"{path}: {where}: {node} is not a failable node of this network "
                        f"(failable: {', '.join(nodes)})")


def read_trace(path: Path, text: str, nodes: Sequence[str]) -> OutageTrace:
    rows = [(number, row) for number, row in enumerate(csv.reader(text.splitlines()), start=1)
            if row and any(cell.strip() for cell in row)]
    if not rows or [cell.strip() for cell in rows[0][1]] != TRACE_HEADER:
        raise UserError(f"{path}: line {rows[0][0] if rows else 1}: the header must be {','.join(TRACE_HEADER)}")
    window, outages, kinds = None, [], set()
    for number, row in rows[1:]:
        if len(row) != 3:
            raise UserError(f"{path}: line {number}: needs 3 fields (node,down_from,down_until), got {len(row)}")
        node = row[0].strip()
        (start, start_kind), (end, end_kind) = (moment(path, number, cell.strip()) for cell in row[1:])
        kinds |= {start_kind, end_kind}
        if len(kinds) > 1:
            raise UserError(f"{path}: line {number}: mixes seconds and ISO-8601 times; use one kind in a file")
        if end <= start:
            raise UserError(f"{path}: line {number}: {node}'s interval ends ({row[2].strip()}) before it starts "
                            f"({row[1].strip()}) or when it starts")
        if node == WINDOW:
            if window is not None:
                raise UserError(f"{path}: line {number}: a second window row (one per file)")
            window = (start, end, number)
            continue
        check_node(path, f"line {number}", node, nodes)
        outages.append((number, Outage(node, start, end)))
    if window is None:
        raise UserError(f"{path}: no window row (window,FROM,UNTIL: the observation window the outages were "
                        "recorded over)")
    return OutageTrace(window[0], window[1], tuple(checked_outages(path, window, outages)))


def checked_outages(path: Path, window: tuple[float, float, int], outages: list[tuple[int, Outage]]) -> list[Outage]:
    """The outages clipped to the window; an error for one wholly outside it, for two of one node that overlap,
    and for a window no outage falls in."""
    start, end, _ = window
    kept: list[tuple[int, Outage]] = []
    for number, outage in outages:
        if outage.end <= start or outage.start >= end:
            raise UserError(f"{path}: line {number}: {outage.node}'s outage lies outside the window "
                            f"(line {window[2]}): no data for it there")
        kept.append((number, Outage(outage.node, max(outage.start, start), min(outage.end, end))))
    previous: dict[str, tuple[int, Outage]] = {}
    for number, outage in sorted(kept, key=lambda item: (item[1].node, item[1].start)):
        if outage.node in previous and previous[outage.node][1].end > outage.start:
            raise UserError(f"{path}: line {number}: {outage.node}'s outage overlaps its outage on line "
                            f"{previous[outage.node][0]}; merge them into one row")
        previous[outage.node] = (number, outage)
    if not kept:
        raise UserError(f"{path}: the window (line {window[2]}) has no data: no outage rows (a trace with no "
                        "outage is the no-failure setting)")
    return [outage for _, outage in kept]


def moment(path: Path, number: int, cell: str) -> tuple[float, str]:
    """A time in seconds, and whether it was written as seconds or as ISO-8601."""
    try:
        seconds = float(cell)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise UserError(f"{path}: line {number}: {cell} is not a time")
        return seconds, "seconds"
    try:
        parsed = datetime.fromisoformat(cell)
    except ValueError:
        raise UserError(f"{path}: line {number}: {cell!r} is neither seconds nor an ISO-8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp(), "iso"
