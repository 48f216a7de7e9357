"""Bad input ends with a one-line error naming the culprit, exit code 2, no traceback, nothing left behind.

The numbers in the test names are those of the "Bad input" list of issue 7.
"""
import gzip
import hashlib
import os
import random
import subprocess
import sys
import tarfile
import zipfile

import pytest
from conftest import EXPERIMENT_DIR, REPO, run_script, write_mhealth_logs

from resilinet.base.errors import UserError
from resilinet.base.folders import check_writable_directory
from resilinet.data import camera, cifar, health

PROGRAM = "Experiment/health_average_accuracy.py"
QUICK = ["--epochs=1", "--iterations=1", "--batch_size=64", "--verbose=0", "--verify_checksums=false"]
BAD_LINE, BAD_SENSOR_COLUMN = 7, 5  # 1-based, as the messages count


def damage(folder, subject, column, text):
    """Write `text` into column `column` (1-based) of line BAD_LINE of a subject's log."""
    path = folder / health.log_name(subject)
    lines = path.read_text().splitlines()
    fields = lines[BAD_LINE - 1].split("\t")
    fields[column - 1] = text
    lines[BAD_LINE - 1] = "\t".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return path


def zip_logs(folder, archive, compression=zipfile.ZIP_DEFLATED, corrupt_subject=None):
    """Zip the logs as UCI lays them out; with `corrupt_subject`, flip bytes inside that member's data."""
    with zipfile.ZipFile(archive, "w", compression) as zipped:
        for subject in health.SUBJECTS:
            zipped.write(folder / health.log_name(subject), f"MHEALTHDATASET/{health.log_name(subject)}")
    if corrupt_subject is not None:
        with zipfile.ZipFile(archive) as zipped:
            info = zipped.getinfo(f"MHEALTHDATASET/{health.log_name(corrupt_subject)}")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
        data = bytearray(archive.read_bytes())
        data[start:start + 16] = bytes(b ^ 0xFF for b in data[start:start + 16])
        archive.write_bytes(bytes(data))
    return archive


@pytest.fixture
def logs(tmp_path):
    return write_mhealth_logs(tmp_path / "logs", rows_per_subject=20)


@pytest.fixture
def run_dir(tmp_path):
    """An empty working directory for a script run: it must stay empty when the run fails."""
    folder = tmp_path / "run"
    folder.mkdir()
    return folder


def run_in_subprocess(*flags, cwd):
    """Run the health script as a user does; return (exit code, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(EXPERIMENT_DIR / "health_average_accuracy.py"), *QUICK, *flags],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr


def assert_clean_exit(returncode, stderr, run_dir, *expected):
    """Exit 2, one error line saying every `expected` part, no traceback, the working directory left empty."""
    assert returncode == 2, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith(f"{PROGRAM}: error: ")]
    assert len(errors) == 1, stderr
    for part in expected:
        assert part in errors[0], errors[0]
    assert not list(run_dir.iterdir()), "a failed run left files behind"


def run_in_process(capsys, run_dir, *flags):
    """Run the health script in this process (faster); return (exit code, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        run_script("health_average_accuracy.py", *QUICK, *flags, cwd=run_dir)
    return exit_info.value.code, capsys.readouterr().err


# 1. a label `nan`
def test_1_nan_label_names_file_line_and_column(logs, run_dir):
    path = damage(logs, 4, health.NUM_SENSOR_CHANNELS + 1, "nan")
    code, _, err = run_in_subprocess(f"--data_dir={logs}", cwd=run_dir)
    assert_clean_exit(code, err, run_dir, f"{path}, line {BAD_LINE}, column 24: label 'nan' is not an integer in 0..12")


# 2. a zip whose member data is corrupt: the user's zip, and the automatic download
def test_2_corrupt_user_zip_ends_cleanly(logs, run_dir, tmp_path):
    archive = zip_logs(logs, tmp_path / "mhealth.zip", corrupt_subject=5)
    code, _, err = run_in_subprocess(f"--data_dir={archive}", cwd=run_dir)
    assert_clean_exit(code, err, run_dir, f"{archive}:MHEALTHDATASET/mHealth_subject5.log is corrupt")


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED], ids=["deflate", "crc"])
def test_2_corrupt_download_leaves_no_half_extracted_cache(logs, tmp_path, compression):
    archive = zip_logs(logs, tmp_path / "served.zip", compression, corrupt_subject=5)
    cache = tmp_path / "data" / "mhealth"
    with pytest.raises(UserError) as error:
        health.load_mhealth(cache_dir=str(cache), url=archive.as_uri(), verify_checksums=False)
    assert "mHealth_subject5.log is corrupt" in str(error.value)
    assert not (tmp_path / "data").exists(), "the cache keeps nothing of a corrupt download"


def test_2_clean_download_is_moved_into_place(logs, tmp_path):
    archive = zip_logs(logs, tmp_path / "served.zip")
    cache = tmp_path / "cache"
    x, _, _ = health.load_mhealth(cache_dir=str(cache), url=archive.as_uri(), verify_checksums=False)
    assert sorted(p.name for p in (cache / "logs").iterdir()) == sorted(health.log_name(s) for s in health.SUBJECTS)
    assert sorted(p.name for p in cache.iterdir()) == ["logs", "mhealth_dataset.zip"], "no staging folder left"
    labels = [line.split()[-1] for s in health.SUBJECTS
              for line in (logs / health.log_name(s)).read_text().splitlines()]
    assert len(x) == len(labels) - labels.count("0")


# 3. --results_dir naming an existing regular file
def test_3_results_dir_that_is_a_file(logs, run_dir, capsys):
    (run_dir / "results.txt").write_text("mine")
    code, err = run_in_process(capsys, run_dir, f"--data_dir={logs}", "--results_dir=results.txt")
    assert code == 2 and "--results_dir results.txt is a file, not a folder" in err
    assert [p.name for p in run_dir.iterdir()] == ["results.txt"] and (run_dir / "results.txt").read_text() == "mine"


# 4. a results or models directory that cannot be written: refused before any data is loaded
def test_4_unwritable_models_dir_is_refused_before_loading_data(run_dir, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code, out, err = run_in_subprocess("--data_dir=/nonexistent/mhealth", f"--models_dir={blocker}/models",
                                       cwd=run_dir)
    assert_clean_exit(code, err, run_dir, f"--models_dir {blocker}/models/health_average_accuracy cannot be created: "
                                          f"{blocker} is a file, not a folder")


def test_4_unwritable_results_dir(run_dir, capsys):
    code, err = run_in_process(capsys, run_dir, "--data_dir=/nonexistent/mhealth", "--results_dir=/proc")
    assert code == 2 and "--results_dir /proc: cannot write a file there" in err
    assert not list(run_dir.iterdir())


def test_4_evaluate_saved_does_not_need_a_writable_models_dir(run_dir, capsys):
    code, err = run_in_process(capsys, run_dir, "--data_dir=/nonexistent/mhealth", "--models_dir=/proc",
                               "--evaluate_saved=true")
    assert code == 2 and "--models_dir" not in err


@pytest.mark.parametrize("path, message", [
    ("{file}", "--results_dir {file} is a file, not a folder"),
    ("{file}/below/results", "--results_dir {file}/below/results cannot be created: {file} is a file, not a folder"),
    ("/proc", "--results_dir /proc: cannot write a file there"),
    ("/proc/resilinet-test/results", "--results_dir /proc/resilinet-test/results: cannot write a file there"),
])
def test_4_check_writable_directory_refuses(tmp_path, path, message):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(UserError, match=message.format(file=blocker)):
        check_writable_directory(path.format(file=blocker), "results_dir")
    assert [p.name for p in tmp_path.iterdir()] == ["a_file"]


def test_4_check_writable_directory_creates_nothing(tmp_path):
    check_writable_directory(tmp_path / "new" / "results", "results_dir")
    assert not list(tmp_path.iterdir()), "the check removes the folders it made"


def test_4_a_failed_check_removes_the_folders_it_made(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr("tempfile.TemporaryFile", refuse)
    with pytest.raises(UserError, match=r"--models_dir .*new/models: cannot write a file there \(Permission denied\)"):
        check_writable_directory(tmp_path / "new" / "models", "models_dir")
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes through permission bits")
def test_4_read_only_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        with pytest.raises(UserError, match="cannot write a file there"):
            check_writable_directory(locked, "results_dir")
        with pytest.raises(UserError, match="cannot write a file there"):
            check_writable_directory(locked / "results", "results_dir")
    finally:
        locked.chmod(0o755)
    assert not list(locked.iterdir())


# 5. a user's zip never becomes the cached download; a failed download leaves no folder
def test_5_user_zip_is_read_in_place_and_never_cached(logs, tmp_path):
    archive = zip_logs(logs, tmp_path / "mine.zip")
    cache = tmp_path / "data" / "mhealth"
    x, _, _ = health.load_mhealth(str(archive), cache_dir=str(cache), verify_checksums=False)
    x_folder, _, _ = health.load_mhealth(str(logs), verify_checksums=False)
    assert (x == x_folder).all()
    assert not (tmp_path / "data").exists()
    with pytest.raises(UserError, match="could not download"):
        health.load_mhealth(cache_dir=str(cache), url="http://127.0.0.1:9/mhealth.zip", verify_checksums=False)
    assert not (tmp_path / "data").exists(), "a failed download leaves no empty folder"


# 6. `nan` in a sensor column
@pytest.mark.parametrize("text", ["nan", "inf", "NA"])
def test_6_non_finite_sensor_value_names_line_and_column(logs, run_dir, capsys, text):
    path = damage(logs, 2, BAD_SENSOR_COLUMN, text)
    code, err = run_in_process(capsys, run_dir, f"--data_dir={logs}")
    assert code == 2
    assert f"{path}, line {BAD_LINE}, column {BAD_SENSOR_COLUMN}: sensor value {text!r} is not a finite number" in err
    assert not list(run_dir.iterdir())


# 7. an error inside a user's zip names the zip and the member
def test_7_error_in_user_zip_names_zip_and_member(logs, tmp_path):
    damage(logs, 3, health.NUM_SENSOR_CHANNELS + 1, "nan")
    archive = zip_logs(logs, tmp_path / "mine.zip")
    with pytest.raises(UserError) as error:
        health.load_mhealth(str(archive), cache_dir=str(tmp_path / "cache"), verify_checksums=False)
    assert str(error.value).startswith(f"{archive}:MHEALTHDATASET/mHealth_subject3.log, line {BAD_LINE}, column 24:")
    with pytest.raises(UserError, match=rf"^{archive}:MHEALTHDATASET/mHealth_subject1.log: SHA-256 .* does not match"):
        health.load_mhealth(str(archive), cache_dir=str(tmp_path / "cache"))
    assert not (tmp_path / "cache").exists()


# 8. the advice for a corrupt zip fits where it came from
def test_8_advice_fits_the_origin_of_a_corrupt_zip(logs, tmp_path):
    archive = zip_logs(logs, tmp_path / "mine.zip", corrupt_subject=1)
    with pytest.raises(UserError) as user_zip:
        health.load_mhealth(str(archive), cache_dir=str(tmp_path / "cache"), verify_checksums=False)
    assert "download a fresh copy from" in str(user_zip.value) and "delete" not in str(user_zip.value)
    assert archive.exists() and not (tmp_path / "cache").exists(), "a user's file is never deleted nor cached"
    with pytest.raises(UserError) as downloaded:
        health.load_mhealth(cache_dir=str(tmp_path / "cache"), url=archive.as_uri(), verify_checksums=False)
    assert "the download was deleted: run again to download it anew" in str(downloaded.value)


def test_8_a_checksum_mismatch_in_the_cache_says_how_to_renew_it(logs, tmp_path, monkeypatch):
    monkeypatch.setattr(health, "MHEALTH_SHA256", {
        s: hashlib.sha256((logs / health.log_name(s)).read_bytes()).hexdigest() for s in health.SUBJECTS})
    cache = tmp_path / "cache"
    health.load_mhealth(cache_dir=str(cache), url=zip_logs(logs, tmp_path / "served.zip").as_uri())
    damage(cache / "logs", 2, 1, "1.0")
    with pytest.raises(UserError, match=rf"mHealth_subject2.log: SHA-256 .* delete {cache / 'logs'} and run again"):
        health.load_mhealth(cache_dir=str(cache), url="http://127.0.0.1:9/unused.zip")


# The same care for the other datasets' archives
def anonymous(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """`member` with no time or owner, the same on every machine."""
    member.mtime, member.uid, member.gid, member.uname, member.gname = 0, 0, 0, "", ""
    return member


def multiview_archive(tmp_path, name, content=b"view"):
    """A .tar.gz laid out as the multi-view dataset (file contents are not read by the unpacking).

    Its bytes are the same on every run (seeded contents, no times or owners), so that damage done at a
    fixed offset always hits the same part of the compressed stream.
    """
    source = tmp_path / f"{name}-source"
    noise = random.Random(name)
    for split in ("train_dir", "test_dir", "holdout_dir"):
        (source / "multiview-dataset" / split / "person_images").mkdir(parents=True)
        (source / "multiview-dataset" / split / "person_images" / "c0_0_0.jpg").write_bytes(
            content + noise.randbytes(4096))
    archive = tmp_path / f"{name}.tar.gz"
    with gzip.GzipFile(archive, "wb", mtime=0) as compressed, tarfile.open(fileobj=compressed, mode="w") as tar:
        tar.add(source / "multiview-dataset", "multiview-dataset", filter=anonymous)
    return archive


def test_camera_archives_are_unpacked_whole_and_apart(tmp_path):
    cache = tmp_path / "data" / "camera"
    first, second = multiview_archive(tmp_path, "first", b"1"), multiview_archive(tmp_path, "second", b"2")
    root_first = camera.locate_root(str(first), str(cache))
    root_second = camera.locate_root(str(second), str(cache))
    assert root_first != root_second, "another archive never reuses an unpacked one"
    view = ("train_dir", "person_images", "c0_0_0.jpg")
    assert (root_second.joinpath(*view)).read_bytes()[:1] == b"2"
    assert len(list(cache.iterdir())) == 2, "no staging folder left"

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(first.read_bytes()[: first.stat().st_size // 2])
    with pytest.raises(UserError, match=r"truncated.tar.gz is not a readable .tar.gz archive") as error:
        camera.locate_root(str(truncated), str(tmp_path / "other" / "camera"))
    assert "\n" not in str(error.value)
    assert not (tmp_path / "other").exists(), "nothing of a failed unpacking is left"


def flipped_in_the_middle(archive):
    """A copy of `archive` with bytes inverted in the middle of its compressed stream."""
    data = bytearray(archive.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
    damaged = archive.with_name("damaged.tar.gz")
    damaged.write_bytes(bytes(data))
    return damaged


@pytest.mark.parametrize("loader", ["camera", "cifar"])
@pytest.mark.parametrize("bad, reason", [
    ("not an archive", "not a tar, tar.gz, tar.bz2 or tar.xz file"),
    ("flipped", "CRC check failed"),  # tarfile alone would stop silently at the first unreadable header
])
def test_a_bad_archive_gets_a_one_line_error(tmp_path, loader, bad, reason):
    if bad == "flipped":
        archive = flipped_in_the_middle(multiview_archive(tmp_path, "source"))
    else:
        archive = tmp_path / "damaged.tar.gz"
        archive.write_text(bad)
    before = set(tmp_path.iterdir())
    with pytest.raises(UserError, match=rf"damaged.tar.gz is not a readable .tar.* \({reason}") as error:
        if loader == "camera":
            camera.locate_root(str(archive), str(tmp_path / "cache"))
        else:
            cifar.load_cifar10(str(archive))
    assert "\n" not in str(error.value)
    assert set(tmp_path.iterdir()) == before


def test_an_unwritable_cache_dir_is_named(logs, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(UserError, match=f"--cache_dir {blocker}/mhealth cannot be created: {blocker} is a file"):
        health.load_mhealth(cache_dir=str(blocker / "mhealth"), url=zip_logs(logs, tmp_path / "x.zip").as_uri())
    with pytest.raises(UserError, match=f"--cache_dir {blocker}/camera cannot be created: {blocker} is a file"):
        camera.locate_root(str(multiview_archive(tmp_path, "views")), str(blocker / "camera"))
