"""A script that continues a run or uses its weights (a resume, `--evaluate_saved=true`, a deployment) goes on with
the constants that run logged wherever no flag gives them, so its flags need not be typed again."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from resilinet.base.settings import Check, Setting
from resilinet.cli.parser import flag_text
from resilinet.runs.results import differing_keys, read_results
from resilinet.runs.settings import absent_values


def with_logged_constants(config: Any, flag: str, path: Path, experiment: str, check: Check,
                          settings: Mapping[str, Setting], parse: Callable[[Mapping[str, Any], str], Any],
                          also: Iterable[str] = ()) -> Any:
    """`config` made again by `parse(logged, path)` with, as defaults, the values the run of the results file `path`
    logged for the settings `check` compares (and those in `also`) that differ here; a flag or environment variable
    given here still wins, and the check that follows refuses what then still differs. One line names what was
    taken. `flag` (the setting that named the run) is set to the resolved path, so `latest` is resolved once."""
    document = read_results(path)
    logged_config = document["config"]
    if document["experiment"] != experiment or not isinstance(logged_config, dict):
        return dataclasses.replace(config, **{flag: str(path)})  # the check that follows names what is wrong
    current = vars(config)
    ignore = set(logged_config) ^ set(current) if check is Check.DEPLOY else set()  # what only one side has
    keys = [key for key in differing_keys(logged_config, current, experiment, check, ignore) if key in current]
    keys += [key for key in also if key in logged_config and key in current and key not in keys
             and _json(logged_config[key]) != _json(current[key])]
    if not keys:
        return dataclasses.replace(config, **{flag: str(path)})
    absent = absent_values()
    logged = {key: _typed(logged_config.get(key, absent.get(key)), settings.get(key)) for key in keys}
    made = parse(logged, str(path))
    taken = [key for key in keys if _json(getattr(made, key)) == _json(logged[key])]
    if taken:
        shown = ", ".join(f"{key}={flag_text(logged[key])}" for key in taken)
        print(f"--{flag}: taken from {path}, as no flag gives them here: {shown}", flush=True)
    return dataclasses.replace(made, **{flag: str(path)})


def _typed(value: Any, setting: Setting | None) -> Any:
    """A value read from a results file as a configuration holds it: a list setting's items as a tuple."""
    return tuple(value) if setting is not None and setting.is_list and isinstance(value, list) else value


def _json(value: Any) -> str:
    return json.dumps(value, default=str)
