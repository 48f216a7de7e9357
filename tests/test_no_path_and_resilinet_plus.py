"""Two faithfulness fixes: the exact no-path guess (and the original's single draw by flag), and
hyperconnection_weight honouring ResiliNet+."""
import numpy as np
import pytest
from conftest import run_script, run_weights, write_mhealth_logs

from resilinet.core.evaluation import expected_guess_score, random_guess_score
from resilinet.runs.jobs import job_seed

FAST = ["--epochs=1", "--batch_size=128", "--verbose=0", "--verify_checksums=false", "--iterations=1"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_mhealth_logs(tmp_path_factory.mktemp("mhealth"), rows_per_subject=120, seed=3)


def test_expected_guess_by_hand():
    train = np.array([1] * 6 + [2] * 3 + [7] * 1)   # p_train 0.6, 0.3, 0.1
    test = np.array([1] * 2 + [2] * 2 + [9] * 1)    # p_test 0.4, 0.4, (label 9 never guessed) 0.2
    assert expected_guess_score(train, test) == pytest.approx(0.6 * 0.4 + 0.3 * 0.4)


def test_no_path_scores_the_exact_guess_by_default_and_one_draw_by_flag(tmp_path, data_dir):
    from types import SimpleNamespace

    import health_common

    config = SimpleNamespace(data_dir=str(data_dir), cache_dir="unused", mhealth_download_url="",
                             verify_checksums=False,
                             truncate_sensor_values=False, drop_first_row=False, split="rows")
    data = health_common.load_data(config)
    flags = [f"--data_dir={data_dir}", *FAST]

    def vanilla_no_path_scores(document):
        (vanilla,) = [r for r in document["records"] if r["variant"] == "Vanilla"]
        scores = [c["accuracy"] for c in vanilla["combinations"] if c["no_path"]]
        assert len(scores) == 7 and len(set(scores)) == 1, "every no-path combination scores the same guess"
        return scores[0]

    exact = run_script("health_average_accuracy.py", *flags, cwd=tmp_path)
    assert vanilla_no_path_scores(exact) == pytest.approx(expected_guess_score(data.train.y, data.test.y))

    (tmp_path / "results").rename(tmp_path / "first")
    (first,) = (tmp_path / "first").glob("*.json")
    drawn = run_script("health_average_accuracy.py", *flags, "--evaluate_saved=true", "--no_path_guess=draw",
                       f"--saved_run={first}",
                       cwd=tmp_path)
    draw = random_guess_score(data.train.y, data.test.y, "accuracy", job_seed(0, 1, "Vanilla"))
    assert vanilla_no_path_scores(drawn) == pytest.approx(draw)
    assert draw != pytest.approx(expected_guess_score(data.train.y, data.test.y)), "a draw is not the expectation"


def test_resilinet_and_resilinet_plus_are_one_network_under_resilinet_plus():
    """Both would train and save one model twice (the second would load the first's weights): refused."""
    from types import SimpleNamespace

    import health_common

    from resilinet.base.errors import UserError
    from resilinet.runs.variants import hyperconnection_weight_variants

    config = SimpleNamespace(model_kinds=("DFG", "ResiliNet", "ResiliNet+"), weight_schemes=(1,), resilinet_plus=True)
    with pytest.raises(UserError) as error:
        hyperconnection_weight_variants(health_common.DATASET, config)
    assert str(error.value) == ("--model_kinds: ResiliNet and ResiliNet+ name one network, ResiliNet+ (ResiliNet is "
                                "ResiliNet+ with --resilinet_plus=true)")
    plain = hyperconnection_weight_variants(health_common.DATASET, SimpleNamespace(**{**vars(config),
                                                                                      "resilinet_plus": False}))
    assert [v.name for v in plain] == ["DFG_weight_scheme1", "ResiliNet_weight_scheme1", "ResiliNetPlus_weight_scheme1"]


def test_hyperconnection_weight_trains_resilinet_plus_when_asked(tmp_path, data_dir):
    document = run_script("health_hyperconnection_weight.py", f"--data_dir={data_dir}", *FAST, "--weight_schemes=1",
                          "--model_kinds=DFG,ResiliNet", "--resilinet_plus=true", cwd=tmp_path)
    assert [r["variant"] for r in document["records"]] == ["DFG_weight_scheme1", "ResiliNetPlus_weight_scheme1"]
    weights = run_weights(tmp_path, "health_hyperconnection_weight") / "ResiliNetPlus_weight_scheme1_iter1.weights.h5"
    assert weights.exists()
