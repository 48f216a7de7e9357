"""Benchmark of a deployment's latency per request when nodes and whole machines die.

Health and camera ResiliNet (fresh weights: latency does not depend on them), one Ray actor per
node, on a cluster of Ray nodes on this machine (`LocalCluster`: machineA and machineB, 2 CPUs
each). machineB hosts some failable nodes (health: fog1, edge; camera: fog3, edge1, edge2), machineA
the rest. Requests of one sample go one at a time (so a latency is a request's own, not a queue's)
in four classes, p50 / p95 / p99 each:
- no failure: `--requests` requests;
- a node known dead (`fog2`, killed before and not called): `--requests` requests;
- a node killed mid-request: `--kills` trials, each sends a request and kills fog2 at once;
- machineB killed mid-request: `--kills` trials, each sends a request and SIGKILLs machineB
  (everything on it at once), then adds a fresh machineB and restarts its nodes for the next trial.
The ratio known dead / no failure is printed for each dataset.

    python bench/bench_deployment_latency.py [--requests=300 --kills=8 --detect_ms=200,3]

`--detect_ms`: Ray's health check period (ms) and checks missed before a node is declared dead
(Ray's default is 3000,5).
"""
import sys
import time
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Experiment"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the local cluster of the machine tests
import mlp_Vanilla_camera  # noqa: E402
import mlp_Vanilla_health  # noqa: E402
from local_cluster import LocalCluster  # noqa: E402

from resilinet.cli.parser import parse_flags  # noqa: E402
from resilinet.core.kinds import ModelKind  # noqa: E402
from resilinet.core.paper_topologies import CAMERA, HEALTH  # noqa: E402
from resilinet.deployment.network import DeployedNetwork  # noqa: E402
from resilinet.deployment.run import percentiles  # noqa: E402
from resilinet.deployment.split import split_model  # noqa: E402

DEFAULTS = {"requests": 300, "kills": 8, "detect_ms": (200, 3)}
TIMEOUT_S = 600.0  # deaths must be learned from Ray, never by this wait
CASES = {
    "health": (HEALTH, lambda: mlp_Vanilla_health.build_health_model(ModelKind.RESILINET), [(23,)],
               ("fog1", "edge")),
    "camera": (CAMERA, lambda: mlp_Vanilla_camera.build_camera_model(ModelKind.RESILINET), [(32, 32, 3)] * 6,
               ("fog3", "edge1", "edge2")),
}
KILLED_NODE = "fog2"


def timed(network, inputs, index, kill=None):
    """Send one request, run `kill` (if any) right after, return its latency in seconds."""
    request = network.submit(index, inputs, TIMEOUT_S)
    if kill is not None:
        kill()
    answer = network.collect(request)
    return answer.seconds


def measure(cluster, name, config):
    topology, build, shapes, on_b = CASES[name]
    keras.utils.set_random_seed(0)
    model = build()
    placement = {node: "machineB" if node in on_b else "machineA" for node in topology.nodes}
    network = DeployedNetwork(topology, split_model(model, topology, None, True), ([0], [1.0]), placement=placement)
    started = time.perf_counter()
    network.start()
    print(f"{name}: {len(topology.nodes)} actors started in {time.perf_counter() - started:.1f} s", flush=True)
    rng = np.random.default_rng(0)
    inputs = [rng.random((1, *shape), dtype=np.float32) for shape in shapes]
    seconds = {"no failure": [], "node known dead": [], "node killed mid-request": [], "machine killed mid-request": []}
    try:
        for i in range(10):  # warm-up
            timed(network, inputs, i)
        for i in range(config.requests):
            seconds["no failure"].append(timed(network, inputs, i))
        network.kill(KILLED_NODE)
        for i in range(config.requests):
            seconds["node known dead"].append(timed(network, inputs, i))
        for i in range(config.kills):
            network.restart(KILLED_NODE)
            network.admit_ready(wait=True)
            seconds["node killed mid-request"].append(timed(network, inputs, i, lambda: network.kill(KILLED_NODE)))
        network.restart(KILLED_NODE)
        network.admit_ready(wait=True)
        for i in range(config.kills):
            seconds["machine killed mid-request"].append(timed(network, inputs, i, lambda: cluster.kill("machineB")))
            cluster.add("machineB", 2)
            for node in on_b:
                network.actors.pop(node, None)
                network.restart(node)
            network.admit_ready(wait=True)
    finally:
        network.shutdown()
    return {case: percentiles(values) for case, values in seconds.items()}


def main():
    config = parse_flags(DEFAULTS, sys.argv[1:], __doc__, "bench/bench_deployment_latency.py")
    rows = {}
    with LocalCluster({"machineA": 2, "machineB": 2}, detect_ms=tuple(config.detect_ms)) as cluster:
        import ray

        ray.init(address=cluster.address, log_to_driver=False, include_dashboard=False)
        try:
            for name in CASES:
                rows[name] = measure(cluster, name, config)
        finally:
            ray.shutdown()
    print(f"\n{'dataset':<8} {'case':<28} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, cases in rows.items():
        for case, p in cases.items():
            print(f"{name:<8} {case:<28} {p['requests']:>8} {p['p50_ms']:>8.1f} {p['p95_ms']:>8.1f} "
                  f"{p['p99_ms']:>8.1f}")
        ratio = cases["node known dead"]["p50_ms"] / cases["no failure"]["p50_ms"]
        print(f"{name:<8} known dead / no failure (p50): {ratio:.2f}")


if __name__ == "__main__":
    main()
