"""What a newcomer meets first: a quiet start, `--help` that survives `head`, honest epoch counts and time
estimates, the README's first run exactly as written, and links in README.md and docs/ that resolve."""
import logging
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import EXPERIMENT_DIR, REPO, write_mhealth_logs
from test_camera import slice_dir  # noqa: F401  (fixture: a slice of the real camera data)

from resilinet.base.keras_import import import_keras
from resilinet.base.progress import Progress
from resilinet.runs.driver import report_program

START_UP_NOISE = re.compile(r"^(I0000|W0000|WARNING: All log messages)|oneDNN|cpu_feature_guard", re.MULTILINE)
SCRIPTS = sorted(p.name for p in EXPERIMENT_DIR.glob("*.py") if "__main__" in p.read_text())


def environment():
    variables = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return {**variables, "PYTHONPATH": os.pathsep.join([str(REPO), str(EXPERIMENT_DIR)])}


@pytest.mark.parametrize("dataset", ["health", "camera"])
def test_a_run_with_verbose_0_prints_only_its_own_lines(tmp_path, request, dataset):
    if dataset == "health":
        script = "health_average_accuracy.py"
        flags = [f"--data_dir={write_mhealth_logs(tmp_path / 'logs', rows_per_subject=40)}", "--verify_checksums=false"]
    else:  # the images and convolutions of one camera model (three add nothing a start-up line could come from)
        script = "camera_skiphyperconnection_sensitivity.py"
        flags = [f"--data_dir={request.getfixturevalue('slice_dir')}", "--batch_size=16",
                 "--skip_configurations=1111111"]
    done = subprocess.run([sys.executable, str(EXPERIMENT_DIR / script), *flags, "--epochs=1", "--iterations=1",
                           "--verbose=0"],
                          cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not START_UP_NOISE.search(done.stderr), done.stderr
    assert not START_UP_NOISE.search(done.stdout), done.stdout


def test_tensorflows_retracing_hint_is_dropped_and_its_other_warnings_are_kept(caplog):
    tf = pytest.importorskip("tensorflow")
    import_keras()
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for size in range(1, 12):  # a new function each time, as each model a run trains gets its own
            tf.function(lambda x: x * 2)(tf.zeros([size]))
        tf.get_logger().warning("another warning of tensorflow's")
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "retracing" in m] and "another warning of tensorflow's" in messages


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_piped_into_head_ends_quietly(script):
    command = f"{sys.executable} {EXPERIMENT_DIR / script} --help | head -1"
    for _ in range(2):
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], env=environment(), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        assert done.stdout.startswith("usage: python ") and done.stdout.count("\n") == 1


def test_each_epoch_is_counted_against_the_models_real_number_of_epochs(tmp_path, capsys):
    import keras

    from resilinet.core.splits import Data, Split
    from resilinet.runs.training import TrainingPlan, train

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, size=64)
    data = Data(Split(x, y), Split(x[:16], y[:16]), Split(x[:16], y[:16]), num_classes=2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    train(model, data, TrainingPlan(epochs=12, batch_size=32, seed=0, state_path=tmp_path / "state.npz",
          log_path=tmp_path / "log.csv", identity={}, verbose=2, checkpoint_seconds=1e9))
    counted = re.findall(r"^Epoch (\d+)/(\d+)$", capsys.readouterr().out, re.MULTILINE)
    assert counted == [(str(e), "12") for e in range(1, 13)]


def test_time_left_stands_on_the_epochs_after_the_first():
    lines = []
    progress = Progress("model 1/3", models_after=2, interval=0, clock=lambda: 0.0, write=lines.append)
    for epoch, seconds in enumerate([30.0, 2.0, 2.2, 1.8], start=1):  # the first epoch also builds the graph
        progress(epoch, 10, seconds)
    assert len(lines) == 3, "no estimate from the first epoch alone"
    # 6 epochs left at the median 2 s; each later model: 28 s of first-epoch overhead + 10 epochs of 2 s
    assert lines[-1] == "model 1/3: epoch 4/10, 12 s left for the model, about 1 min 48 s for the run"


DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a page's headings (outside code blocks)."""
    found, fence = set(), False
    for line in markdown.splitlines():
        fence = fence != line.startswith("```")
        if not fence and re.match(r"^#{1,6} ", line):
            text = re.sub(r"[^\w\- ]", "", line.split(" ", 1)[1].strip().lower())
            found.add(text.replace(" ", "-"))
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves(document):
    text = document.read_text()
    broken = []
    for target in LINK.findall(re.sub(r"```.*?```", "", text, flags=re.DOTALL)):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (document.parent / path).resolve() if path else document
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
            broken.append(target)
    assert not broken, f"{document.relative_to(REPO)}: {broken}"


def test_the_docs_never_send_a_reader_to_a_file_they_do_not_have():
    for document in DOCUMENTS:
        assert "SPEC.md" not in document.read_text(), document
    assert len((REPO / "README.md").read_text().splitlines()) <= 300


def test_the_flag_page_is_generated_from_the_flag_table():
    done = subprocess.run([sys.executable, str(REPO / "docs" / "generate_flags.py"), "--check"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr


def readme_block(heading: str) -> list[str]:
    """The command lines of the first bash block under `heading` in README.md."""
    section = (REPO / "README.md").read_text().split(f"\n## {heading}\n", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_the_readmes_first_run_works_as_written_without_network(tmp_path):
    for folder in ("examples", "Experiment"):
        (tmp_path / folder).symlink_to(REPO / folder)
    env = {**environment(), "PYTHONPATH": str(REPO)}
    (command,) = readme_block("A first run, no download")
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not START_UP_NOISE.search(done.stderr), done.stderr
    for model in ("Vanilla", "DFG", "ResiliNet"):
        assert re.search(rf"^iteration 1/1 {model} \(trained, \d+ s\): no failure 0\.\d{{4}}, normal 0\.\d{{4}}, "
                         r"poor 0\.\d{4}, hazardous 0\.\d{4}$", done.stdout, re.MULTILINE), done.stdout
    assert "tables and figures: python Experiment/report.py results/sensor_field_average_accuracy_" in done.stdout
    section = (REPO / "README.md").read_text().split("\n## A first run, no download\n", 1)[1]
    (report,) = [line for line in section.split("```bash\n", 2)[2].split("```", 1)[0].splitlines() if line]
    done = subprocess.run(["bash", "-c", report], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    written = sorted(p.name for p in (tmp_path / "results" / "report").iterdir())
    assert written == ["sensor_field_average_accuracy.md", "sensor_field_average_accuracy_combinations.png",
                       "sensor_field_average_accuracy_expected.png",
                       "sensor_field_average_accuracy_learning_curves.png"]


def test_the_report_command_a_run_prints_works_where_it_was_run(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    assert report_program() == "Experiment/report.py"
    monkeypatch.chdir(tmp_path)  # a run started elsewhere (python /path/to/Experiment/...) is told the whole path
    assert report_program() == str(REPO / "Experiment" / "report.py")
