"""The entry of `Experiment/report.py`: its flags and results files, then the report (`resilinet.report.tables`)."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from resilinet.base.errors import UserError
from resilinet.base.settings import OffOrAtLeast, Role, Setting
from resilinet.cli.parser import parse_flags
from resilinet.cli.program import run_program
from resilinet.core.failure_files import read_failure_model
from resilinet.report.deadlines import checked_deployments, is_deployment, write_deadline_reports
from resilinet.report.failures import UnderModel, under_model
from resilinet.report.pooled import Run, load_runs
from resilinet.report.tables import failure_model_section, readme_tables, write_report
from resilinet.runs.results import read_document

REPORT_SETTINGS = {
    "out": Setting(str, "folder the report's markdown and figures are written into", Role.OUTPUT,
                   default="results/report", not_empty=True),
    "readme": Setting(bool, "print only the summary tables, as markdown for README's Results section, and write "
                            "nothing", Role.OUTPUT, default=False),
    "failure_model": Setting(str, "a failure model file (JSON: independent or shared_domains; CSV: an outage trace; "
                                  "docs/failure-models.md): each model's expected score under it, beside the paper's "
                                  "settings", Role.EVALUATION, default=""),
    "draws": Setting(int, "with --failure_model: also estimate each expected score from this many combinations "
                          "drawn from the model, with a 95% interval (0: no estimate)", Role.EVALUATION, default=0,
                     range=OffOrAtLeast(2)),
    "draw_seed": Setting(int, "the seed of the drawn combinations", Role.SEED, default=0),
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
        documents = [(Path(p), read_document(Path(p))) for p in paths]
        deployments = [(path, document) for path, document in documents if is_deployment(document)]
        experiments = [path for path, document in documents if not is_deployment(document)]
        runs = load_runs(experiments) if experiments else []
        for note in (note for run in runs for note in run.incomplete):
            print(f"note: {note}", file=sys.stderr)
        under = failure_models(runs, config)
        checked_deployments(deployments)
        if config.readme:
            print(readme_tables(runs), end="")
            return
        for run in (run for run in runs if run.experiment in under):
            print("\n".join(failure_model_section(run, under[run.experiment])).lstrip("\n") + "\n")
        for path in write_report(runs, Path(config.out), under) + write_deadline_reports(deployments,
                                                                                          Path(config.out)):
            print(path)

    run_program(program, body)


def failure_models(runs: Sequence[Run], config) -> dict[str, UnderModel]:
    """Each run's scores under --failure_model (read once per run: its failable nodes check the file), by
    experiment; empty without one."""
    if config.draws and not config.failure_model:
        raise UserError("--draws needs --failure_model (the model the combinations are drawn from)")
    if not config.failure_model:
        return {}
    path = Path(config.failure_model).expanduser()
    return {run.experiment: under_model(run, path, read_failure_model(path, run.failable_nodes), config.draws,
                                        config.draw_seed) for run in runs}
