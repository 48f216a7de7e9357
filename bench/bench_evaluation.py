"""Benchmark of failure evaluation: its cost against the number of failable nodes, and exact against
bounded evaluation on camera.

1. A generated sensor field with n failable nodes (n - n//4 edge nodes, each fed by a sensor, and
   n//4 fog nodes; skip hyperconnections from each edge node to the cloud), a ResiliNet model of
   Dense layers, a test set of generated rows. For each n: the combinations an exact evaluation
   predicts (2^n) and a bounded one needs under each setting (`--mass_left`), the seconds per
   combination of the whole model (measured on `--sample` combinations) and of node-by-node
   evaluation (measured on the whole bounded set, and on all 2^n up to `--exact_nodes`), and the
   node evaluations each way. Seconds of the whole model past what was run are extrapolated (~).
2. Camera: every model of the committed runs (reproduction/camera/results/, the paper's protocol):
   is its exact expected score inside the bounds evaluated from the most probable combinations
   only? And, with the camera test set (`--camera_data`) and a camera ResiliNet model, the seconds
   and node evaluations of exact and bounded evaluation, whole model and node by node.

    python bench/bench_evaluation.py [--nodes=8,12,16,20,24 --rows=1000 --mass_left=0.001
        --camera_data=../shared/data/multiview-dataset.tar.gz]

The models are untrained: the cost of an evaluation does not depend on the weights. Scores are
never compared across the two ways here (tests/test_shared_outputs.py does that).
"""
import gzip
import itertools
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
sys.path.insert(0, str(REPOSITORY / "Experiment"))
from resilinet.base.errors import UserError  # noqa: E402
from resilinet.cli.parser import parse_flags  # noqa: E402
from resilinet.cli.program import run_program  # noqa: E402
from resilinet.core.bounded import enough_combinations, expected_bounds  # noqa: E402
from resilinet.core.topology import combination_probability  # noqa: E402

DEFAULTS = {"nodes": (8, 12, 16, 20, 24), "rows": 1000, "batch_size": 1024, "mass_left": 0.001, "sample": 64,
            "exact_nodes": 12, "max_combinations": 100_000, "max_timed": 20_000,
            "camera_data": str(REPOSITORY.parent / "shared" / "data" / "multiview-dataset.tar.gz"),
            "camera_cache": "data/camera"}
# Alive probabilities of the generated field's (fog, edge) nodes.
SETTINGS = {"normal": (0.98, 0.96), "poor": (0.9, 0.85)}
UNITS, FEATURES, CLASSES = 32, 2, 4


def field_topology(failable: int):
    from resilinet.core.topology import Topology

    fogs = [f"fog{i}" for i in range(1, max(2, failable // 4) + 1)]
    edges = [f"edge{i}" for i in range(1, failable - len(fogs) + 1)]
    sensors = [f"sensor{i}" for i in range(1, len(edges) + 1)]
    chain = (*zip(sensors, edges), *((edge, fogs[i % len(fogs)]) for i, edge in enumerate(edges)),
             *((fog, "cloud") for fog in fogs))
    return Topology(f"field{failable}", tuple(sensors), chain, tuple((edge, "cloud") for edge in edges),
                    (*fogs, *edges)), len(fogs)


def field_model(topology):
    import keras

    from resilinet.core.builder import build_model
    from resilinet.core.kinds import ModelKind
    from resilinet.networks.stacks import LayerStacks

    def dense(classifier=False):
        return lambda: [keras.layers.Dense(CLASSES if classifier else UNITS,
                                           activation="softmax" if classifier else "relu")]

    layers = {node: dense() for node in topology.nodes if node != topology.output}
    stacks = LayerStacks({sensor: (FEATURES,) for sensor in topology.inputs}, {**layers, "cloud": dense(True)})
    return build_model(topology, stacks, ModelKind.RESILINET)


def reliability(topology, fogs: int, setting: str) -> tuple[float, ...]:
    fog, edge = SETTINGS[setting]
    return (fog,) * fogs + (edge,) * (len(topology.failable) - fogs)


def capped_combinations(probabilities, mass_left: float, cap: int):
    """`core.bounded.covering_combinations` of one setting, or None where it needs more than `cap` (past it a
    count is all this table shows)."""
    from resilinet.core.bounded import covering_combinations

    chosen = list(itertools.islice(covering_combinations(probabilities, mass_left), cap + 1))
    return sorted(chosen) if len(chosen) <= cap else None


def whole_model_seconds(model, topology, split, combinations, batch_size, sample: int) -> tuple[float, bool]:
    """Seconds the whole model takes on `combinations`, its failure gates set (the original's way),
    and whether they were all run: past `sample` combinations with a path, it runs `sample` of
    them, evenly spaced, and extrapolates (a combination without a path costs nothing)."""
    from resilinet.core.evaluation import Scoring, evaluate_combinations

    with_path = [alive for alive in combinations if topology.has_path(alive)]
    run = with_path if len(with_path) <= sample else with_path[::len(with_path) // sample][:sample]
    scoring = Scoring(split, "accuracy", 0.0, batch_size)
    evaluate_combinations(model, topology, None, scoring, run[:1])  # traces
    started = time.perf_counter()
    evaluate_combinations(model, topology, None, scoring, run)
    return (time.perf_counter() - started) / len(run) * len(with_path), len(run) == len(with_path)


def node_by_node(model, topology, split, combinations, batch_size) -> tuple[float, float, int, int]:
    """Seconds of the set-up (cutting the sub-models and tracing each on the all-alive combination),
    seconds of the evaluation of `combinations` after it, its node evaluations, and the whole
    model's node evaluations (every node of every combination with a path)."""
    from resilinet.core.shared_outputs import NodeByNode

    started = time.perf_counter()
    nodes = NodeByNode(model, topology, None, split, batch_size)
    nodes.predict((True,) * len(topology.failable))
    nodes.cache.clear()
    nodes.cached_bytes = 0
    nodes.evaluations.clear()
    set_up = time.perf_counter() - started
    with_path = [alive for alive in combinations if topology.has_path(alive)]
    started = time.perf_counter()
    for _ in nodes.predict_each(sorted(with_path, key=nodes.upstream_first)):
        pass
    return set_up, time.perf_counter() - started, sum(nodes.evaluations.values()), len(with_path) * len(topology.nodes)


def node_cell(result) -> str:
    set_up, took, evaluations, whole = result
    return f"{seconds(took)} + {seconds(set_up)} set-up ({evaluations:,}, {evaluations / whole:.1%})"


def seconds(value: float, measured: bool = True) -> str:
    return f"{'' if measured else '~'}{value:,.1f}" if value >= 1 else f"{'' if measured else '~'}{value:.3f}"


def scaling(config) -> None:
    import keras
    import numpy as np

    from resilinet.core.splits import Split

    print(f"## Cost against failable nodes (test set {config.rows} rows, mass left {config.mass_left})\n")
    print("| failable | combinations exact | bounded normal | bounded poor | whole model ms/comb. "
          "| exact: whole model s | node by node s (node evaluations, share of the whole model's) "
          "| bounded normal: whole model s | node by node s (node evaluations, share) |")
    print("|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for failable in config.nodes:
        topology, fogs = field_topology(failable)
        model = field_model(topology)
        split = Split([rng.normal(size=(config.rows, FEATURES)).astype("float32") for _ in topology.inputs],
                      rng.integers(0, CLASSES, config.rows))
        bounded = {s: capped_combinations(reliability(topology, fogs, s), config.mass_left, config.max_combinations)
                   for s in SETTINGS}
        normal = bounded["normal"]
        bounded_whole = whole_model_seconds(model, topology, split, normal, config.batch_size, config.sample)
        per_combination = bounded_whole[0] / sum(map(topology.has_path, normal))
        if failable <= config.exact_nodes:
            every = topology.failure_combinations()
            exact = node_cell(node_by_node(model, topology, split, every, config.batch_size))
        else:
            exact = "not run"
        if len(normal) <= config.max_timed:
            bounded_cell = node_cell(node_by_node(model, topology, split, normal, config.batch_size))
        else:
            bounded_cell = "not run"
        counts = [f"{len(c):,}" if c is not None else f"> {config.max_combinations:,}" for c in bounded.values()]
        print(f"| {failable} | {2 ** failable:,} | {' | '.join(counts)} | {per_combination * 1000:.1f} "
              f"| {seconds(per_combination * (2 ** failable - 2 ** fogs), False)} | {exact} "
              f"| {seconds(*bounded_whole)} | {bounded_cell} |",
              flush=True)
        keras.backend.clear_session()


def committed_camera_bounds(mass_left: float) -> None:
    print("\n## Camera: exact expected score against its bounds from the most probable combinations\n")
    print("| results file | models x settings | inside bounds | combinations used (of 256) | widest interval |")
    print("|---|---|---|---|---|")
    for path in sorted((REPOSITORY / "reproduction" / "camera" / "results").glob("camera_*.json.gz")):
        document = json.loads(gzip.open(path).read())
        nodes, settings = document["failable_nodes"], document["reliability_settings"]
        metric = document["metric"]
        chosen = set(enough_combinations(settings.values(), mass_left))
        inside, total, widest = 0, 0, 0.0
        for record in document["records"]:
            scores = {tuple(c["alive"][n] for n in nodes): c[metric] for c in record["combinations"]}
            for probabilities in settings.values():
                exact = sum(combination_probability(alive, probabilities) * s for alive, s in scores.items())
                bounds = expected_bounds({alive: scores[alive] for alive in chosen}, probabilities)
                inside += bounds.low - 1e-12 <= exact <= bounds.high + 1e-12
                total += 1
                widest = max(widest, bounds.high - bounds.low)
        print(f"| {path.name} | {total} | {inside} | {len(chosen)} | {widest:.4f} |")


def dataset_timing(title: str, dataset, test, config) -> None:
    """Exact and bounded evaluation of one untrained ResiliNet model of `dataset` on `test`."""
    import keras

    from resilinet.core.kinds import ModelKind, ModelOptions

    topology = dataset.topology
    model = dataset.build_model(ModelKind.RESILINET, SimpleNamespace(failout_survival_rate=0.9), ModelOptions())
    every = topology.failure_combinations()
    bounded = enough_combinations(dataset.reliability_settings.values(), config.mass_left)
    print(f"\n## {title} ({len(test.y)} test samples, {len(every):,} combinations), one ResiliNet model\n")
    print("| combinations | whole model s | node by node s (node evaluations, share of the whole model's) |")
    print("|---|---|---|")
    for name, combinations in (("exact", every), (f"bounded (every setting, mass left {config.mass_left})", bounded)):
        whole = whole_model_seconds(model, topology, test, combinations, config.batch_size,
                                    max(config.sample, 256))
        result = node_by_node(model, topology, test, combinations, config.batch_size)
        print(f"| {name}: {len(combinations):,} | {seconds(*whole)} "
              f"| {node_cell(result)} |", flush=True)
    keras.backend.clear_session()


def main(argv):
    def parsed():
        config = parse_flags(DEFAULTS, argv, __doc__, "bench/bench_evaluation.py")
        if min(config.nodes) < 4 or max(config.nodes) > 30:
            raise UserError(f"--nodes must lie in 4..30, got {config.nodes}")
        if not 0 < config.mass_left < 1:
            raise UserError(f"--mass_left must lie in (0, 1), got {config.mass_left}")
        return config

    config = run_program("bench/bench_evaluation.py", parsed)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    scaling(config)
    committed_camera_bounds(config.mass_left)
    sys.path.insert(0, str(REPOSITORY / "examples"))
    import sensor_field

    field = sensor_field.NETWORK.dataset()
    dataset_timing("Example (examples/sensor_field.py)", field,
                   field.load_data(SimpleNamespace(samples=4000, class_separation=1.0, seed=0)).test, config)
    if Path(config.camera_data).exists():
        import camera_common

        from resilinet.data.camera import load_camera

        dataset_timing("Camera", camera_common.DATASET, load_camera(config.camera_data, config.camera_cache).test,
                       config)
    else:
        print(f"\n(camera timing skipped: {config.camera_data} does not exist)")


if __name__ == "__main__":
    main(sys.argv[1:])
