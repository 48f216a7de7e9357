"""The entry of `Experiment/report.py`: its flags and results files, then the report (`resilinet.report.tables`)."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from resilinet.base.errors import UserError
from resilinet.base.settings import Role, Setting
from resilinet.cli.parser import parse_flags
from resilinet.cli.program import run_program
from resilinet.report.pooled import load_runs
from resilinet.report.tables import readme_tables, write_report

REPORT_SETTINGS = {
    "out": Setting(str, "folder the report's markdown and figures are written into", Role.OUTPUT,
                   default="results/report", not_empty=True),
    "readme": Setting(bool, "print only the summary tables, as markdown for README's Results section, and write "
                            "nothing", Role.OUTPUT, default=False),
}
DESCRIPTION = """Tables and figures of the paper from the results files of the experiment scripts.

Files of one experiment pool their iterations (their configurations may differ only in the seed and
in flags that do not change results); files of different experiments each get their own report:
<out>/<experiment>.md and <out>/<experiment>_*.png. --readme=true prints only the summary tables
as markdown for README's Results section and writes nothing."""


def main(argv: Sequence[str] | None = None, program: str = "Experiment/report.py") -> None:
    """Pool the results files named in `argv` and write (or with --readme=true print) their report."""
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> None:
        flags = [a for a in argv if a.startswith("-")]
        paths = [a for a in argv if not a.startswith("-")]
        defaults = {key: setting.default for key, setting in REPORT_SETTINGS.items()}
        config = parse_flags(defaults, flags, DESCRIPTION, f"{program} RESULTS.json [RESULTS.json ...]",
                             REPORT_SETTINGS)
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

    run_program(program, body)
