"""Write docs/flags.md from the one declaration of every setting, resilinet/runs/settings.py:
`python docs/generate_flags.py`. `--check` exits 1 when docs/flags.md differs from what the declarations give
(the suite runs it)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resilinet.base.settings import REQUIRED, Check, Role, Setting  # noqa: E402
from resilinet.cli.report_script import REPORT_SETTINGS  # noqa: E402
from resilinet.runs.settings import DATASET_SETTINGS, SETTINGS  # noqa: E402

PAGE = Path(__file__).with_name("flags.md")
HEADER = ["| flag | type | default | role | meaning | allowed values |", "| --- | --- | --- | --- | --- | --- |"]


def shown_default(setting: Setting) -> str:
    if setting.default is REQUIRED:
        return "the dataset's"
    value = setting.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return "(empty)"
    return f"`{','.join(map(str, value)) if isinstance(value, tuple) else value}`"


def row(key: str, setting: Setting) -> str:
    allowed = [f"one of {', '.join(f'`{c}`' for c in setting.choices)}" if setting.choices else "",
               str(setting.range) if setting.range else "", "not empty" if setting.not_empty else "",
               f"default from `${setting.environment}`" if setting.environment else ""]
    cell = "; ".join(part for part in allowed if part)
    kind = f"list of {setting.type.__name__}" if setting.is_list else setting.type.__name__
    return (f"| `--{key}` | {kind} | {shown_default(setting)} | {setting.role.name.lower()} | "
            f"{setting.meaning.replace('|', '/')} | {cell} |")


def roles() -> list[str]:
    lines = ["## Roles", "",
             "A setting's role says what it changes, and so which checks refuse two runs that differ in it and "
             "which scripts take it (a declaration may add the deployment).", "",
             "| role | changes | compared by | taken by |", "| --- | --- | --- | --- |"]
    for role in Role:
        compared = "; ".join(check.value for check in Check if check in role.compared_by) or "nothing"
        scripts = " and ".join(name for name, taken in (("experiments", role.in_experiments),
                                                                     ("deployment", role.in_deployment))
                               if taken)
        lines.append(f"| {role.name.lower()} | {role.changes} | {compared} | {scripts} |")
    return lines


def page() -> str:
    lines = ["# Flags", "",
             "Every script takes `--key=value` flags that override its constants for one run; "
             "`python Experiment/<script>.py --help` lists the flags of that script with their defaults. "
             "A script takes the flags below that its experiment uses (a deployment takes no training flag).", "",
             "This page is generated from `resilinet/runs/settings.py`, where each setting is declared once, by "
             "`python docs/generate_flags.py`; edit the declarations there, then run it.", "",
             *roles(), "", "## Flags of every dataset", "", *HEADER]
    lines += [row(key, setting) for key, setting in SETTINGS.items()]
    for dataset, settings in DATASET_SETTINGS.items():
        lines += ["", f"## Flags of the {dataset} scripts", "", *HEADER]
        lines += [row(key, setting) for key, setting in settings.items()]
    lines += ["", "## Flags of Experiment/report.py", "", *HEADER]
    lines += [row(key, setting) for key, setting in REPORT_SETTINGS.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        current = PAGE.read_text() if PAGE.exists() else ""
        if current != page():
            print(f"{PAGE} is not what resilinet/runs/settings.py gives: run python docs/generate_flags.py",
                  file=sys.stderr)
            sys.exit(1)
    else:
        PAGE.write_text(page())
        print(f"wrote {PAGE}")
