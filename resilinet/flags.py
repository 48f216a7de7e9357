"""`--key=value` overrides of a script's constants, checked against the constants' types."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Mapping, Sequence

from resilinet.errors import UserError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse_scalar(text: str, like: Any, key: str):
    if isinstance(like, bool):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise UserError(f"--{key} takes true or false, got {text!r}")
    try:
        return type(like)(text)
    except ValueError:
        raise UserError(f"--{key} takes a {type(like).__name__}, got {text!r}") from None


def _parse(text: str, default: Any, key: str):
    if isinstance(default, tuple):
        if not default:
            raise UserError(f"--{key} has an empty default and cannot be typed")
        return tuple(_parse_scalar(item.strip(), default[0], key) for item in text.split(",") if item.strip())
    return _parse_scalar(text, default, key)


def _format(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def usage(defaults: Mapping[str, Any], description: str, program: str) -> str:
    lines = [f"usage: python {program} [--key=value ...]", "", description.strip(), "", "flags (default):"]
    width = max(len(key) for key in defaults) + 2
    lines += [f"  --{key:<{width}} {_format(value)!s}" for key, value in defaults.items()]
    return "\n".join(lines)


def parse_flags(
    defaults: Mapping[str, Any], argv: Sequence[str], description: str = "", program: str = "script.py"
) -> SimpleNamespace:
    """Return the defaults with `--key=value` overrides applied.

    Values are parsed to the type of the default (bool accepts true/false; a tuple takes a
    comma-separated list of its first element's type). Unknown keys and malformed values raise
    UserError. `--help` prints the usage and exits 0.
    """
    config = dict(defaults)
    for arg in argv:
        if arg in ("-h", "--help"):
            print(usage(defaults, description, program))
            raise SystemExit(0)
        if not arg.startswith("--") or "=" not in arg:
            raise UserError(f"bad argument {arg!r}: flags are written --key=value (see --help)")
        key, value = arg[2:].split("=", 1)
        key = key.replace("-", "_")
        if key not in defaults:
            raise UserError(f"unknown flag --{key}; known flags: {', '.join(sorted(defaults))}")
        config[key] = _parse(value, defaults[key], key)
    return SimpleNamespace(**config)
