"""Write docs/flags.md from the one flag table, resilinet/cli/known_flags.py: `python docs/generate_flags.py`.
`--check` exits 1 when docs/flags.md differs from what the table gives (the suite runs it)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resilinet.cli.known_flags import DATASET_FLAGS, FLAGS  # noqa: E402
from resilinet.cli.parser import FlagSpec  # noqa: E402

PAGE = Path(__file__).with_name("flags.md")


def row(key: str, spec: FlagSpec) -> str:
    allowed = [f"one of {', '.join(f'`{c}`' for c in spec.choices)}" if spec.choices else "",
               str(spec.range) if spec.range else "", "not empty" if spec.not_empty else "",
               f"default from `${spec.environment}`" if spec.environment else ""]
    cell = "; ".join(part for part in allowed if part)
    return f"| `--{key}` | {spec.meaning.replace('|', '/')} | {cell} |"


def page() -> str:
    lines = ["# Flags", "",
             "Every script takes `--key=value` flags that override its constants for one run; "
             "`python Experiment/<script>.py --help` lists the flags of that script with their defaults. "
             "A script takes the flags below that its experiment uses (a deployment takes no training flag).", "",
             "This page is generated from `resilinet/cli/known_flags.py` by `python docs/generate_flags.py`; "
             "edit the table there, then run it.", "",
             "## Flags of every dataset", "", "| flag | meaning | allowed values |", "| --- | --- | --- |"]
    lines += [row(key, spec) for key, spec in FLAGS.items()]
    for dataset, flags in DATASET_FLAGS.items():
        lines += ["", f"## Flags of the {dataset} scripts", "", "| flag | meaning | allowed values |",
                  "| --- | --- | --- |"]
        lines += [row(key, spec) for key, spec in flags.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        current = PAGE.read_text() if PAGE.exists() else ""
        if current != page():
            print(f"{PAGE} is not what resilinet/cli/known_flags.py gives: run python docs/generate_flags.py",
                  file=sys.stderr)
            sys.exit(1)
    else:
        PAGE.write_text(page())
        print(f"wrote {PAGE}")
