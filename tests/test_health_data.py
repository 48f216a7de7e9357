"""MHEALTH loading: download from a local HTTP server, checksums, malformed files, splits."""
import functools
import hashlib
import http.server
import threading
import zipfile

import numpy as np
import pytest
from conftest import write_mhealth_logs

from resilinet.base.errors import UserError
from resilinet.data import health


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return write_mhealth_logs(tmp_path_factory.mktemp("mhealth"), rows_per_subject=100)


@pytest.fixture(scope="module")
def served(logs, tmp_path_factory):
    """A local HTTP server on 127.0.0.1 serving a good zip laid out like UCI's and a corrupt one."""
    root = tmp_path_factory.mktemp("www")
    with zipfile.ZipFile(root / "mhealth.zip", "w") as archive:
        archive.writestr("MHEALTHDATASET/README.txt", "generated test data")
        for subject in health.SUBJECTS:
            archive.write(logs / health.log_name(subject), f"MHEALTHDATASET/{health.log_name(subject)}")
    good = (root / "mhealth.zip").read_bytes()
    (root / "corrupt.zip").write_bytes(good[: len(good) // 2])
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def checksums_of(folder):
    return {s: hashlib.sha256((folder / health.log_name(s)).read_bytes()).hexdigest() for s in health.SUBJECTS}


def test_download_extract_verify_and_merge(served, logs, tmp_path, monkeypatch):
    monkeypatch.setattr(health, "MHEALTH_SHA256", checksums_of(logs))
    x, y, subject = health.load_mhealth(cache_dir=str(tmp_path), url=f"{served}/mhealth.zip")
    assert x.shape[1] == 23 and x.dtype == np.float32
    assert 0 not in y and set(np.unique(y)) <= set(range(1, 13))
    assert sorted(np.unique(subject)) == list(range(1, 11))
    raw = np.loadtxt(logs / "mHealth_subject1.log")
    kept = raw[raw[:, -1] != 0]
    np.testing.assert_allclose(x[: len(kept)], kept[:, :23], rtol=1e-6)
    assert (tmp_path / "logs" / "mHealth_subject10.log").exists()
    # the second call uses the cache: no server needed
    x_again, _, _ = health.load_mhealth(cache_dir=str(tmp_path), url="http://127.0.0.1:1/none.zip")
    np.testing.assert_array_equal(x, x_again)


def test_checksum_mismatch_is_reported(served, tmp_path):
    with pytest.raises(UserError, match=r"mHealth_subject1.log: SHA-256 .* does not match"):
        health.load_mhealth(cache_dir=str(tmp_path), url=f"{served}/mhealth.zip")


def test_corrupt_archive_is_reported(served, tmp_path):
    with pytest.raises(UserError, match="not a readable zip archive"):
        health.load_mhealth(cache_dir=str(tmp_path), url=f"{served}/corrupt.zip", verify_checksums=False)


def test_offline_without_local_copy_says_what_to_download(tmp_path):
    with pytest.raises(UserError, match=r"could not download .* by hand.*--data_dir"):
        health.load_mhealth(cache_dir=str(tmp_path), url="http://127.0.0.1:9/mhealth.zip")
    assert not list(tmp_path.rglob("*.partial"))


def test_local_zip_and_missing_folder(served, tmp_path):
    import urllib.request
    archive = tmp_path / "local.zip"
    archive.write_bytes(urllib.request.urlopen(f"{served}/mhealth.zip").read())
    x, _, _ = health.load_mhealth(str(archive), cache_dir=str(tmp_path / "cache"), verify_checksums=False)
    assert len(x) > 0
    with pytest.raises(UserError, match="does not exist"):
        health.load_mhealth(str(tmp_path / "nowhere"), verify_checksums=False)


@pytest.mark.parametrize("content, message", [
    ("1 2 3\n", r"line 1: expected 24 .* found 3"),
    (" ".join(["1.0"] * 23) + " 4\n" + " ".join(["1.0"] * 22) + " abc 4\n",
     r"line 2, column 23: sensor value 'abc' is not a finite number"),
    (" ".join(["1.0"] * 23) + " 13\n", r"line 1, column 24: label '13' is not an integer in 0..12"),
    ("", "is empty"),
])
def test_malformed_logs_name_file_and_line(content, message):
    with pytest.raises(UserError, match=message) as error:
        health.parse_log(content.encode(), "logs/mHealth_subject3.log")
    assert str(error.value).startswith("logs/mHealth_subject3.log")


def test_quirk_options(logs):
    x, y, _ = health.load_mhealth(str(logs), verify_checksums=False)
    x_int, _, _ = health.load_mhealth(str(logs), verify_checksums=False, truncate_sensor_values=True)
    np.testing.assert_array_equal(x_int, np.trunc(x))
    raw_first_label = int(np.loadtxt(logs / "mHealth_subject1.log")[0, -1])
    _, y_dropped, _ = health.load_mhealth(str(logs), verify_checksums=False, drop_first_row=True)
    assert len(y_dropped) == len(y) - (raw_first_label != 0)


def test_row_split_is_80_10_10_and_deterministic(logs):
    x, y, subject = health.load_mhealth(str(logs), verify_checksums=False)
    data = health.split_health(x, y, subject)
    sizes = len(data.train.y), len(data.val.y), len(data.test.y)
    assert sum(sizes) == len(y)
    assert sizes[0] == pytest.approx(0.8 * len(y), abs=1) and abs(sizes[1] - sizes[2]) <= 1
    again = health.split_health(x, y, subject)
    np.testing.assert_array_equal(data.test.x, again.test.x)


def test_subject_split_keeps_subjects_apart(logs):
    x, y, subject = health.load_mhealth(str(logs), verify_checksums=False)
    data = health.split_health(x, y, subject, "subjects")
    assert len(data.test.y) == np.sum(subject == 10) and len(data.val.y) == np.sum(subject == 9)
    with pytest.raises(UserError, match="--split"):
        health.split_health(x, y, subject, "random")
