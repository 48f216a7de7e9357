"""`--key=value` overrides of a script's constants, checked against the constants' types and the
flags' allowed values. Nothing here imports Keras: a bad flag is reported at once."""
from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from resilinet.base.errors import UserError
from resilinet.base.settings import Role, Setting, make_config

_BOOLS = {**dict.fromkeys(("1", "true", "yes", "on"), True), **dict.fromkeys(("0", "false", "no", "off"), False)}
# How a message names a value of each type: one of them, and a list of them.
_NOUNS = {bool: ("true or false", "true/false values"), int: ("an integer", "integers"),
          float: ("a finite number", "finite numbers"), str: ("text", "names")}


def _parse_scalar(text: str, kind: type):
    """`text` as a value of type `kind`; ValueError if it is not one (or is a nan / inf float)."""
    if kind is bool:
        if text.lower() not in _BOOLS:
            raise ValueError(text)
        return _BOOLS[text.lower()]
    value = kind(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(text)
    return value


def _parse(text: str, spec: Setting, key: str):
    try:
        if not spec.is_list:
            return _parse_scalar(text, spec.type)
        items = tuple(_parse_scalar(item.strip(), spec.type) for item in text.split(",") if item.strip())
        if not items:
            raise ValueError(text)
        return items
    except ValueError:
        if spec.is_list:
            raise UserError(f"--{key} takes {_NOUNS[spec.type][1]} separated by commas, got {text!r}") from None
        raise UserError(f"--{key} takes {_NOUNS[spec.type][0]}, got {text!r}") from None


def typed_like(default: Any, meaning: str = "") -> Setting:
    """A setting declared nowhere (a bench's constant), typed by its default."""
    if isinstance(default, tuple):
        if not default:
            raise UserError("a list setting with an empty default cannot be typed: declare it")
        return Setting(type(default[0]), meaning, Role.OUTPUT, is_list=True)
    return Setting(type(default), meaning, Role.OUTPUT)


def _check(key: str, value: Any, spec: Setting) -> None:
    if not spec.has_type_of(value):
        noun = _NOUNS[spec.type][1 if spec.is_list else 0]
        raise UserError(f"--{key} takes {noun}{' separated by commas' if spec.is_list else ''}, got {value!r}")
    if spec.not_empty and isinstance(value, str) and not value.strip():
        raise UserError(f"--{key} is empty (an unset shell variable?): give a path")
    if isinstance(value, tuple):
        repeated = next((item for i, item in enumerate(value) if item in value[:i]), None)
        if repeated is not None:
            raise UserError(f"--{key} gives {flag_text(repeated)} twice: give each value once")
    each = "each value of " if isinstance(value, tuple) else ""
    for item in value if isinstance(value, tuple) else (value,):
        if spec.choices and item not in spec.choices:
            allowed = ", ".join(str(c) for c in spec.choices)
            raise UserError(f"{each}--{key} must be one of {allowed}, got {item!r}")
        if spec.range is not None and item not in spec.range:
            raise UserError(f"{each}--{key} must be {spec.range}, got {item!r}")


def flag_text(value: Any) -> str:
    """A value as a flag is written (true, 0.5, a,b)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def describe(spec: Setting) -> str:
    """The flag's help line after its name: meaning, allowed values, environment variable."""
    parts = [spec.meaning, spec.choices and f"one of: {', '.join(str(c) for c in spec.choices)}",
             spec.range and str(spec.range), spec.environment and f"default from ${spec.environment}"]
    return "; ".join(p for p in parts if p)


def usage(defaults: Mapping[str, Any], description: str, program: str, specs: Mapping[str, Setting]) -> str:
    lines = [f"usage: python {program} [--key=value ...]", "", description.strip(), "",
             "flags (--key=default: meaning):"]
    width = min(max(len(f"{key}={flag_text(value)}") for key, value in defaults.items()), 32) + 1
    for key, value in defaults.items():
        spec = specs.get(key)
        lines.append(f"  --{f'{key}={flag_text(value)}':<{width}} {describe(spec) if spec else ''}".rstrip())
    return "\n".join(lines)


def parse_flags(defaults: Mapping[str, Any], argv: Sequence[str], description: str = "", program: str = "script.py",
                specs: Mapping[str, Setting] | None = None,
                origins: Mapping[str, tuple[str, str]] | None = None) -> Any:
    """Return the defaults with `--key=value` overrides applied.

    Values are parsed to the setting's declared type in `specs` (or, for a setting declared nowhere, its default's):
    bool accepts true/false, float rejects nan and inf, a list takes comma-separated items, each once; and checked
    against its choices and range. The result is a frozen, typed configuration (`resilinet.base.settings.make_config`).
    Unknown keys and bad values raise UserError naming the flag. A default that no flag overrides is checked the
    same way when `origins` names the file and constant that set it, (file, NAME); the message then names them. A
    flag whose spec names an environment variable takes that variable's value, where set and not empty, over the
    default. `--help` prints the usage and exits 0.
    """
    specs = {key: (specs or {}).get(key) or typed_like(value) for key, value in defaults.items()}
    config, given = dict(defaults), set()
    for arg in argv:
        if arg in ("-h", "--help"):
            print(usage(defaults, description, program, specs), flush=True)
            raise SystemExit(0)
        key, value = _split_flag(arg, defaults)
        config[key] = _parse(value, specs[key], key)
        _check(key, config[key], specs[key])
        given.add(key)
    for key, spec in specs.items():
        text = os.environ.get(spec.environment, "") if spec.environment else ""
        if key not in given and text:
            try:
                config[key] = _parse(text, spec, key)
                _check(key, config[key], spec)
            except UserError as error:
                raise UserError(f"${spec.environment}={text!r} (it sets --{key}): {error}") from None
            given.add(key)
    for key, (file, name) in (origins or {}).items():
        if key in defaults and key not in given:
            try:
                _check(key, defaults[key], specs[key])
            except UserError as error:
                raise UserError(f"{name} = {defaults[key]!r} ({file} or --{key}): {error}") from None
    return make_config({key: expand_home(value) for key, value in config.items()}, specs)


def _split_flag(arg: str, defaults: Mapping[str, Any]) -> tuple[str, str]:
    """(key, value) of one `--key=value` argument (dashes in the key read as underscores); a UserError for an
    argument of another form or an unknown key, with the closest known one."""
    if not arg.startswith("--") or "=" not in arg:
        raise UserError(f"bad argument {arg!r}: flags are written --key=value (see --help)")
    key, value = arg[2:].split("=", 1)
    key = key.replace("-", "_")
    if key not in defaults:
        close = difflib.get_close_matches(key, list(defaults), n=1)
        hint = f"did you mean --{close[0]}? " if close else ""
        raise UserError(f"unknown flag --{key}; {hint}known flags: {', '.join(sorted(defaults))}")
    return key, value


def expand_home(value: Any) -> Any:
    """A path written `~/...` (the shell expands no `~` after `=`, nor in a file's constant) as the
    home folder's path; other values unchanged."""
    if isinstance(value, str) and (value == "~" or value.startswith("~/")):
        return os.path.expanduser(value)
    return value
