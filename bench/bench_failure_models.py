"""Benchmark of failure models on a committed run (default: camera average_accuracy, 10 iterations, 30 models, 256
combinations each), from its stored scores:
- the seconds to read each committed failure model of that network and apply it to every model of the run (the
  fastest of `--repeats`, after one warm-up; without the report's figures and imports);
- how often the sampled estimate's 95% interval holds the exact expected score: for each failure model, each of the
  run's models and `--seeds` seeds, `--draws` combinations drawn; the count for ResiliNet iteration 1 and the rate
  over all models, with the distinct combinations scored per estimate.

    python bench/bench_failure_models.py [--run=reproduction/camera/results/camera_average_accuracy_...json.gz
                                          --prefix=camera --draws=300 --seeds=20 --repeats=5]
"""
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from resilinet.cli.parser import parse_flags  # noqa: E402
from resilinet.core.failure_files import read_failure_model  # noqa: E402
from resilinet.core.failure_models import sampled_estimate  # noqa: E402
from resilinet.report.failures import record_combinations, under_model  # noqa: E402
from resilinet.report.pooled import load_runs  # noqa: E402

DEFAULTS = {"run": "reproduction/camera/results/camera_average_accuracy_20261126-175007.json.gz", "prefix": "camera",
            "draws": 300, "seeds": 20, "repeats": 5}


def main() -> None:
    config = parse_flags(DEFAULTS, sys.argv[1:], __doc__, "python bench/bench_failure_models.py")
    (run,) = load_runs([REPO / config.run])
    print(f"{run.experiment}: {len(run.records)} models, {2 ** len(run.failable_nodes)} combinations each")
    for path in sorted((REPO / "reproduction/failure_models").glob(f"{config.prefix}_*")):
        timings = []
        for _ in range(config.repeats + 1):
            start = time.perf_counter()
            model = read_failure_model(path, run.failable_nodes)
            under = under_model(run, path, model)
            timings.append(time.perf_counter() - start)
        means = {group: float(np.mean(values)) for group, values in under.expected.items()}
        print(f"\n{path.name}: read and applied in {min(timings[1:]) * 1000:.1f} ms (fastest of {config.repeats}); "
              + ", ".join(f"{group} {mean:.4f}" for group, mean in means.items()))
        held, total, first, evaluated = 0, 0, 0, []
        for index, (record, source) in enumerate(zip(run.records, run.sources)):
            combinations, scores = record_combinations(run, record, source)
            exact = under.expected[record["group"]][[r for r in run.records if r["group"] == record["group"]]
                                                    .index(record)]
            table = dict(zip(combinations, scores))
            for seed in range(config.seeds):
                estimate = sampled_estimate(model, run.failable_nodes, table.__getitem__, config.draws,
                                            np.random.default_rng([seed, index]))
                inside = estimate.low <= exact <= estimate.high
                held, total, evaluated = held + inside, total + 1, evaluated + [estimate.evaluated]
                if record["variant"] == "ResiliNet" and record["iteration"] == 1:
                    first += inside
        print(f"  sampled, {config.draws} draws: ResiliNet iteration 1 {first}/{config.seeds} intervals hold the "
              f"exact value; all models {held}/{total} ({held / total:.1%}); {min(evaluated)}-{max(evaluated)} "
              f"distinct combinations scored per estimate (mean {np.mean(evaluated):.0f})")


if __name__ == "__main__":
    main()
