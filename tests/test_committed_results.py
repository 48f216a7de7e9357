"""The results files committed under reproduction/ stay readable as the code changes: each would resume with
its own command today, and the committed reports regenerate from them byte for byte."""
import dataclasses
import gzip
import runpy
import shlex
import shutil
from pathlib import Path

import pytest
from conftest import REPO

from resilinet.base.settings import Check, as_dict
from resilinet.cli.experiment_script import script_config
from resilinet.cli.report_script import main as report_main
from resilinet.data.definition import DatasetDefinition, constant_name
from resilinet.runs.results import differing_keys, read_results

COMMITTED = sorted(REPO.glob("reproduction/*/results/*.json.gz"))
SCRIPT_LISTS = ("failout_survival_rates", "weight_schemes", "model_kinds", "skip_configurations")


def unpacked(path: Path, folder: Path) -> Path:
    target = folder / path.name.removesuffix(".gz")
    target.write_bytes(gzip.decompress(path.read_bytes()))
    return target


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_a_committed_run_resumes_with_its_own_command_today(path, tmp_path):
    document = read_results(unpacked(path, tmp_path))
    words = shlex.split(document["commands"][-1])
    script = runpy.run_path(str(REPO / words[1]))  # its constants, without running it
    declared = next(v for v in script.values() if isinstance(v, DatasetDefinition)
                    and document["experiment"].startswith(f"{v.name}_"))
    dataset = dataclasses.replace(declared, validate=lambda config: None)  # the data lies elsewhere now
    lists = {key: script[constant_name(key)] for key in SCRIPT_LISTS if constant_name(key) in script}
    experiment_type = document["experiment"].removeprefix(f"{dataset.name}_")
    config = as_dict(script_config(dataset, experiment_type, words[2:], lists))
    assert differing_keys(document["config"], config, document["experiment"], Check.RESUME) == []
    assert differing_keys(document["config"], config, document["experiment"], Check.POOL) == []


@pytest.mark.parametrize("folder", ["camera", "camera_resilinet_plus"])
def test_the_committed_camera_reports_regenerate_unchanged(folder, tmp_path, monkeypatch):
    files = sorted((REPO / "reproduction" / folder / "results").glob("camera_*.json.gz"))
    if not files:
        pytest.skip(f"no committed results in reproduction/{folder}")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    names = [str(unpacked(p, tmp_path / "results").relative_to(tmp_path)) for p in files]
    for logs in (path.with_name(path.name.removesuffix(".json.gz")) for path in files):
        if logs.is_dir():  # the training logs, where they were committed
            shutil.copytree(logs, tmp_path / "results" / logs.name)
    report_main([*names, "--out=report"])  # as reproduction/camera/run.sh made them
    for report in sorted((tmp_path / "report").glob("*.md")):
        assert report.read_text() == (REPO / "reproduction" / folder / report.name).read_text(), report.name
    assert len(list((tmp_path / "report").glob("*.md"))) == len(files)
