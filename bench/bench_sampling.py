"""Benchmark of sampled evaluation (`--draws`): how many distinct combinations a sampled estimate scores, against
the 2^n of an exact evaluation and the most probable ones a bounded evaluation needs, for the generated sensor field
of bench/bench_evaluation.py (n failable nodes: n//4 fog nodes, the rest edge nodes) under its settings *normal* and
*poor*. An estimate's 95% interval is at most ±0.98/sqrt(draws) wide whatever the scores (a score lies in [0, 1], so
its standard deviation is at most 0.5); what scoring one combination costs is measured by bench_evaluation.py.

    python bench/bench_sampling.py [--nodes=8,12,16,20,24 --draws=1000,10000 --mass_left=0.001]
"""
import itertools
import sys
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
sys.path.insert(0, str(REPOSITORY / "bench"))
from bench_evaluation import SETTINGS  # noqa: E402

from resilinet.cli.parser import parse_flags  # noqa: E402
from resilinet.core.bounded import covering_combinations  # noqa: E402
from resilinet.core.failure_models import Independent, draw_combinations  # noqa: E402

DEFAULTS = {"nodes": (8, 12, 16, 20, 24), "draws": (1000, 10000), "mass_left": 0.001, "max_combinations": 100_000}


def main() -> None:
    config = parse_flags(DEFAULTS, sys.argv[1:], __doc__, "python bench/bench_sampling.py")
    columns = [f"{name}: bounded" for name in SETTINGS] + [f"{name}: {draws:,} drawn" for name in SETTINGS
                                                           for draws in config.draws]
    print(f"| failable | exact | {' | '.join(columns)} |")
    print("|---" * (2 + len(columns)) + "|")
    for failable in config.nodes:
        fogs = max(2, failable // 4)
        nodes = [f"node{i}" for i in range(failable)]
        cells = []
        for fog, edge in SETTINGS.values():
            survival = (fog,) * fogs + (edge,) * (failable - fogs)
            covering = itertools.islice(covering_combinations(survival, config.mass_left), config.max_combinations + 1)
            count = sum(1 for _ in covering)
            cells.append(f"{count:,}" if count <= config.max_combinations else f"> {config.max_combinations:,}")
        for (fog, edge), draws in itertools.product(SETTINGS.values(), config.draws):
            model = Independent(dict(zip(nodes, (fog,) * fogs + (edge,) * (failable - fogs))))
            drawn = draw_combinations(model, nodes, draws, np.random.default_rng(0))
            cells.append(f"{len(set(drawn)):,}")
        print(f"| {failable} | {2 ** failable:,} | {' | '.join(cells)} |", flush=True)
    print("\n95% interval at most ± " + ", ".join(f"{0.98 / np.sqrt(d):.4f} ({d:,} draws)" for d in config.draws))


if __name__ == "__main__":
    main()
