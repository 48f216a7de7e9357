"""`--key=value` overrides of a script's constants, checked against the constants' types and the
flags' allowed values. Nothing here imports Keras: a bad flag is reported at once."""
from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from resilinet.base.errors import UserError

_BOOLS = {**dict.fromkeys(("1", "true", "yes", "on"), True), **dict.fromkeys(("0", "false", "no", "off"), False)}
# How a message names a value of each type: one of them, and a list of them.
_NOUNS = {bool: ("true or false", "true/false values"), int: ("an integer", "integers"),
          float: ("a finite number", "finite numbers"), str: ("text", "names")}


@dataclass(frozen=True)
class Range:
    """Numbers from `low` (excluded if `low_open`) up to `high` (None: no upper bound)."""

    low: float
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value) -> bool:
        below_low = value <= self.low if self.low_open else value < self.low
        above_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        return not below_low and not above_high

    def __str__(self) -> str:
        if self.high is None:
            return f"greater than {self.low}" if self.low_open else f"at least {self.low}"
        return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"


@dataclass(frozen=True)
class FlagSpec:
    """What --help says about a flag, and the values it accepts (for a list flag: each item)."""

    meaning: str
    choices: tuple = ()
    range: Range | None = None
    environment: str = ""  # an environment variable that, set and not empty, replaces the default
    not_empty: bool = False  # a path: an empty value (an unset shell variable) is refused


def _parse_scalar(text: str, like: Any):
    """`text` as a value of `like`'s type; ValueError if it is not one (or is a nan / inf float)."""
    if isinstance(like, bool):
        if text.lower() not in _BOOLS:
            raise ValueError(text)
        return _BOOLS[text.lower()]
    value = type(like)(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(text)
    return value


def _parse(text: str, default: Any, key: str):
    try:
        if not isinstance(default, tuple):
            return _parse_scalar(text, default)
        if not default:
            raise UserError(f"--{key} has an empty default and cannot be typed")
        items = tuple(_parse_scalar(item.strip(), default[0]) for item in text.split(",") if item.strip())
        if not items:
            raise ValueError(text)
        return items
    except ValueError:
        if isinstance(default, tuple):
            raise UserError(f"--{key} takes {_NOUNS[type(default[0])][1]} separated by commas, got {text!r}") from None
        raise UserError(f"--{key} takes {_NOUNS[type(default)][0]}, got {text!r}") from None


def _check(key: str, value: Any, spec: FlagSpec | None) -> None:
    if spec is None:
        return
    if spec.not_empty and isinstance(value, str) and not value.strip():
        raise UserError(f"--{key} is empty (an unset shell variable?): give a path")
    each = "each value of " if isinstance(value, tuple) else ""
    for item in value if isinstance(value, tuple) else (value,):
        if spec.choices and item not in spec.choices:
            allowed = ", ".join(str(c) for c in spec.choices)
            raise UserError(f"{each}--{key} must be one of {allowed}, got {item!r}")
        if spec.range is not None and item not in spec.range:
            raise UserError(f"{each}--{key} must be {spec.range}, got {item!r}")


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def describe(spec: FlagSpec) -> str:
    """The flag's help line after its name: meaning, allowed values, environment variable."""
    parts = [spec.meaning, spec.choices and f"one of: {', '.join(str(c) for c in spec.choices)}",
             spec.range and str(spec.range), spec.environment and f"default from ${spec.environment}"]
    return "; ".join(p for p in parts if p)


def usage(defaults: Mapping[str, Any], description: str, program: str, specs: Mapping[str, FlagSpec]) -> str:
    lines = [f"usage: python {program} [--key=value ...]", "", description.strip(), "",
             "flags (--key=default: meaning):"]
    width = min(max(len(f"{key}={_format(value)}") for key, value in defaults.items()), 32) + 1
    for key, value in defaults.items():
        spec = specs.get(key)
        lines.append(f"  --{f'{key}={_format(value)}':<{width}} {describe(spec) if spec else ''}".rstrip())
    return "\n".join(lines)


def parse_flags(defaults: Mapping[str, Any], argv: Sequence[str], description: str = "", program: str = "script.py",
                specs: Mapping[str, FlagSpec] | None = None,
                origins: Mapping[str, tuple[str, str]] | None = None) -> SimpleNamespace:
    """Return the defaults with `--key=value` overrides applied.

    Values are parsed to the type of the default (bool accepts true/false; float rejects nan and inf; a tuple takes
    a comma-separated list of its first element's type) and checked against the flag's choices and range in `specs`.
    Unknown keys and bad values raise UserError naming the flag. A default that no flag overrides is checked the
    same way when `origins` names the file and constant that set it, (file, NAME); the message then names them. A
    flag whose spec names an environment variable takes that variable's value, where set and not empty, over the
    default. `--help` prints the usage and exits 0.
    """
    specs = specs or {}
    config, given = dict(defaults), set()
    for arg in argv:
        if arg in ("-h", "--help"):
            print(usage(defaults, description, program, specs), flush=True)
            raise SystemExit(0)
        if not arg.startswith("--") or "=" not in arg:
            raise UserError(f"bad argument {arg!r}: flags are written --key=value (see --help)")
        key, value = arg[2:].split("=", 1)
        key = key.replace("-", "_")
        if key not in defaults:
            close = difflib.get_close_matches(key, list(defaults), n=1)
            hint = f"did you mean --{close[0]}? " if close else ""
            raise UserError(f"unknown flag --{key}; {hint}known flags: {', '.join(sorted(defaults))}")
        config[key] = _parse(value, defaults[key], key)
        _check(key, config[key], specs.get(key))
        given.add(key)
    for key, spec in specs.items():
        text = os.environ.get(spec.environment, "") if spec.environment else ""
        if key in defaults and key not in given and text:
            try:
                config[key] = _parse(text, defaults[key], key)
                _check(key, config[key], spec)
            except UserError as error:
                raise UserError(f"${spec.environment}={text!r} (it sets --{key}): {error}") from None
            given.add(key)
    for key, (file, name) in (origins or {}).items():
        if key in defaults and key not in given:
            try:
                _check(key, defaults[key], specs.get(key))
            except UserError as error:
                raise UserError(f"{name} = {defaults[key]!r} ({file} or --{key}): {error}") from None
    return SimpleNamespace(**{key: expand_home(value) for key, value in config.items()})


def expand_home(value: Any) -> Any:
    """A path written `~/...` (the shell expands no `~` after `=`, nor in a file's constant) as the
    home folder's path; other values unchanged."""
    if isinstance(value, str) and (value == "~" or value.startswith("~/")):
        return os.path.expanduser(value)
    return value
