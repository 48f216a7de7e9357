"""What `Experiment/<dataset>_deployment.py` does: deploy saved weights as Ray actors, fail nodes for real, stream
the test set through them and compare with the in-process simulation (`deploy`), and write its results
(`write_results`). Its command line: cli/deployment_script.py."""
from __future__ import annotations

import shlex
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from resilinet.base.errors import UserError, ctrl_c_at_safe_points
from resilinet.base.files import publish_new, write_text_atomically
from resilinet.base.keras_import import import_keras
from resilinet.base.settings import Check, as_dict
from resilinet.core.failure_files import read_failure_model
from resilinet.core.failure_models import FailureModel, Independent, describe, expected_score, window_states
from resilinet.core.kinds import ModelKind
from resilinet.core.splits import Split
from resilinet.data.definition import DatasetDefinition
from resilinet.runs.results import claim_results_name, document_text

LATENCY_CLASSES = ("no failure", "node known dead", "node died mid-request", "node late")


def weights_file(dataset: DatasetDefinition, config, kind: ModelKind) -> Path:
    """The weights the `<dataset>_average_accuracy` run `--saved_run` names saved for this model and
    iteration, checked to be made with the networks and data of this deployment; or a UserError."""
    from resilinet.runs.driver import checked_saved_run
    from resilinet.runs.results import run_files_of

    experiment = f"{dataset.name}_average_accuracy"
    run, document = checked_saved_run(config.saved_run, Path(config.results_dir), experiment, as_dict(config),
                                      Check.DEPLOY)
    path = run_files_of(document, run, experiment).weights(config.iteration, kind.file_name)
    if not path.exists():
        found = sorted(p.name for p in path.parent.glob("*.weights.h5")) if path.parent.is_dir() else []
        have = f"; {path.parent} holds {', '.join(found)}" if found else ""
        plus = " --resilinet_plus=true" if kind is ModelKind.RESILINET_PLUS else ""
        raise UserError(f"--model={kind.file_name} --iteration={config.iteration}: no weights at {path} (the run "
                        f"{run}){have}; run `python {' '.join(dataset.program('average_accuracy'))}{plus}` first "
                        f"(with --iterations of at least {config.iteration}), or name its results file with "
                        "--saved_run")
    return path


def checked_flags(dataset: DatasetDefinition, config) -> Any:
    """The configuration with --fail and --placement without empty items, checked against the topology."""
    topology = dataset.topology
    config = replace(config, fail=tuple(node for node in config.fail if node),
                     placement=tuple(pair for pair in config.placement if pair),
                     slow=tuple(pair for pair in config.slow if pair))
    unknown = [node for node in config.fail if node not in topology.failable]
    if unknown:
        raise UserError(f"--fail: {', '.join(unknown)} cannot fail; failable nodes: {', '.join(topology.failable)}")
    if config.setting and config.setting not in dataset.reliability_settings:
        raise UserError(f"--setting must be one of {', '.join(dataset.reliability_settings)}, got {config.setting!r}")
    if sum(map(bool, (config.fail, config.setting, config.failure_model))) > 1:
        raise UserError("--fail, --setting and --failure_model exclude each other: fixed failures, or failures drawn "
                        "per window from a reliability setting or from a failure model")
    placement_of(config, topology)
    slowed(config, topology)
    return config


def slowed(config, topology) -> dict[str, float]:
    """Failable node -> the seconds --slow adds to its every request; a UserError for a pair that is not node:ms."""
    delays: dict[str, float] = {}
    for pair in config.slow:
        node, _, ms = pair.partition(":")
        try:
            delay = float(ms)
        except ValueError:
            delay = -1.0
        if node not in topology.failable or not 0.0 <= delay < float("inf"):
            raise UserError(f"--slow: {pair!r} is not node:ms with node one of {', '.join(topology.failable)} (a late "
                            "node is a dead one: only a failable node can be late) and ms a number of at least 0")
        if node in delays:
            raise UserError("--slow names a node twice")
        delays[node] = delay / 1000.0
    return delays


def placement_of(config, topology) -> dict[str, str]:
    """Node -> Ray node of --placement; a UserError for a pair that is not node:raynode."""
    wanted: dict[str, str] = {}
    for pair in config.placement:
        node, colon, ray_node = pair.partition(":")
        if not colon or not ray_node or node not in topology.nodes:
            raise UserError(f"--placement: {pair!r} is not node:raynode with node one of {', '.join(topology.nodes)}")
        if ray_builtin_resource(ray_node):
            raise UserError(f"--placement: {pair!r} names Ray's own resource {ray_node}, not a Ray node; a placement "
                            f"takes node:raynode, where raynode is a custom resource the Ray node was started with "
                            f"(ray start --resources='{{\"{node}_host\": 1}}' and --placement={node}:{node}_host)")
        if node in wanted:
            raise UserError("--placement names a node twice")
        wanted[node] = ray_node
    return wanted


def ray_builtin_resource(name: str) -> bool:
    """A resource every Ray node has or Ray names itself, so no name of one Ray node."""
    return name in ("CPU", "GPU", "memory", "object_store_memory") or name.startswith(("node:", "accelerator_type:"))


def placement(config, topology) -> dict[str, str]:
    """Node -> Ray node of --placement, each Ray node checked to be in the cluster."""
    from resilinet.runs.ray_session import alive_node_resources

    wanted = placement_of(config, topology)
    present = {name for resources in alive_node_resources() for name in resources}
    missing = sorted(set(wanted.values()) - present)
    if missing:
        named = sorted(r for r in present if not ray_builtin_resource(r))
        raise UserError(f"--placement: no Ray node named {', '.join(missing)} (a Ray node is named by a custom "
                        f"resource: ray start --resources='{{\"{missing[0]}\": 1}}'); named Ray nodes: "
                        f"{', '.join(named) or 'none'}")
    return wanted


def request_batches(test: Split, size: int, count: int) -> Iterator[tuple[list[np.ndarray], np.ndarray]]:
    """(inputs per input node, labels) of `size` test samples each, cycling through the test set;
    `count` requests, or one pass when 0."""
    def one_pass():
        for x, y in (test.x[i][:2] for i in range(len(test.x))) if test.is_streamed else [(test.x, test.y)]:
            x, y = list(x) if isinstance(x, (list, tuple)) else [x], np.asarray(y)
            for start in range(0, len(y), size):
                yield [np.asarray(a[start:start + size]) for a in x], y[start:start + size].ravel()

    served = 0
    while True:
        for batch in one_pass():
            if count and served == count:
                return
            yield batch
            served += 1
        if not count or served == 0:
            return


def percentiles(seconds: Sequence[float]) -> dict[str, float | int | None]:
    ms = [float(p) for p in np.percentile(np.asarray(seconds) * 1000.0, [50, 95, 99])] if seconds else [None] * 3
    return {"requests": len(seconds), **dict(zip(("p50_ms", "p95_ms", "p99_ms"), ms))}


def requests_in_stream(test: Split, size: int, count: int) -> int:
    """How many requests `request_batches` yields: `count`, or those of one pass over the test set."""
    if count:
        return count
    if not test.is_streamed:
        return -(-len(test.y) // size)
    batch = test.x.batch_size  # a streamed split's batches hold batch_size samples, the last one the rest
    return sum(-(-min(batch, len(test.y) - start) // size) for start in range(0, len(test.y), batch))


def stream(network, test: Split, config, topology, failures: FailureModel | None,
           deadline_s: float | None = None) -> list[dict[str, Any]]:
    """Send the requests, `in_flight` at a time (under a deadline per hop, if given). Under `failures` (a reliability
    setting's or a failure model's), every `window` requests take which nodes are down from it (`window_states`: an
    outage trace replayed in time order): those are killed while earlier requests are still in flight, and once
    those are answered the others are restarted if dead; the window's requests go out when the restarted nodes have
    rejoined (restart time is no request's latency)."""
    states = None
    if failures is not None:
        windows = -(-requests_in_stream(test, config.request_size, config.requests) // config.window)
        states = window_states(failures, topology.failable, windows, np.random.default_rng(config.seed))
    for node in config.fail:
        network.kill(node)
    in_flight: deque = deque()
    served: list[dict[str, Any]] = []

    def finish(keep: int = 0):
        """Collect the oldest requests until `keep` are left in flight."""
        while len(in_flight) > keep:
            request, inputs, labels = in_flight.popleft()
            answer = network.collect(request)
            served.append({"index": answer.index, "inputs": inputs, "y": labels, "labels": answer.labels,
                           "probabilities": answer.probabilities, "no_path": answer.no_path,
                           "alive": tuple(answer.alive[n] for n in topology.failable), "partial": answer.partial,
                           "latency_class": latency_class(answer, network, request), "seconds": answer.seconds})

    for index, (inputs, labels) in enumerate(request_batches(test, config.request_size, config.requests)):
        if states is not None and index % config.window == 0:
            draw = states[min(index // config.window, len(states) - 1)]
            for node in (n for n, up in zip(topology.failable, draw) if not up):
                network.kill(node)
            finish()
            for node in (n for n, up in zip(topology.failable, draw) if up):
                network.restart(node)
            network.admit_ready(wait=True)
        network.admit_ready()
        in_flight.append((network.submit(index, inputs, config.timeout_ms / 1000.0, deadline_s=deadline_s), inputs,
                          labels))
        finish(config.in_flight - 1)
    finish()
    return served


def latency_class(answer, network, request) -> str:
    """Which of LATENCY_CLASSES an answered request is in: a node missing that is still running was late."""
    if answer.died_during:
        late = request.due and all(node in network.actors for node in answer.died_during)
        return "node late" if late else "node died mid-request"
    return "node known dead" if not all(answer.alive.values()) else "no failure"


def compare(model, topology, skip_mask, served, metric: str, no_path_score: float) -> list[dict[str, Any]]:
    """Per failure combination seen: requests, the score through the actors, and the in-process
    model's score on the same requests with the same gates (same batches, so same multiplexing);
    whether every prediction is the same, and the largest difference of a class probability."""
    from resilinet.core.evaluation import over_combinations, score
    from resilinet.core.shared_outputs import predict_on_batches

    def row(alive: tuple[bool, ...], no_path: bool) -> dict[str, Any]:
        group = [r for r in served if r["alive"] == alive and not r["partial"]]
        y = np.concatenate([r["y"] for r in group])
        if no_path:
            same, difference, simulated = all(r["no_path"] for r in group), 0.0, no_path_score
        else:
            probabilities = [predict_on_batches(model, r["inputs"], len(r["inputs"][0])) for r in group]  # as sent
            predicted = [np.argmax(p, axis=-1) for p in probabilities]
            same = all(not r["no_path"] and np.array_equal(p, r["labels"]) for r, p in zip(group, predicted))
            difference = max([0.0, *(float(np.max(np.abs(p - r["probabilities"])))
                                     for r, p in zip(group, probabilities) if not r["no_path"])])
            simulated = score(metric, y, np.concatenate(predicted))
        return {"alive": dict(zip(topology.failable, alive)), "no_path": no_path, "requests": len(group),
                "samples": int(len(y)), "no_path_answers": sum(r["no_path"] for r in group),
                "measured": score(metric, y, np.concatenate([r["labels"] for r in group])), "simulated": simulated,
                "same_predictions": bool(same), "max_probability_difference": difference}

    seen = sorted({r["alive"] for r in served if not r["partial"]}, reverse=True)
    with ctrl_c_at_safe_points():  # a Ctrl-C stops the comparison between requests, never inside TensorFlow
        return over_combinations(model, topology, skip_mask, seen, row)


def deploy(dataset: DatasetDefinition, config, argv: Sequence[str] = ()) -> dict[str, Any]:
    """Deploy, stream, compare; returns the results document (its command ends with the flags `argv`)."""
    config = checked_flags(dataset, config)
    topology = dataset.topology
    failures = failures_of(dataset, config)
    dataset.validate(config)
    kind = ModelKind.named(config.model)
    path = weights_file(dataset, config, kind)
    import_keras()

    from resilinet.core.evaluation import evaluate_combinations
    from resilinet.runs.jobs import WeightSource, job_model
    from resilinet.runs.variants import Job, average_accuracy_variant

    data = dataset.load_data(config)
    built = job_model(dataset, config, data, Job(config.iteration, average_accuracy_variant(dataset, kind)),
                      config.seed, WeightSource(path))
    streams, actors = serve(dataset, config, built, data, failures)
    document = {
        "experiment": f"{dataset.name}_deployment", "metric": dataset.metric, "model": kind.value,
        "weights": str(path), "failable_nodes": list(topology.failable), "config": as_dict(config),
        "command": shlex.join(["python", *dataset.program("deployment"), *argv]), **actors,
    }
    measured = [measure(built, topology, served, dataset.metric) for served in streams]
    if config.deadline_ms:
        document["deadlines"] = [{"deadline_ms": deadline, **m} for deadline, m in zip(config.deadline_ms, measured)]
    else:
        document.update(measured[0])
    if failures is not None:
        results = evaluate_combinations(built.model, topology, built.skip_mask,
                                        built.scoring(data.test, dataset.metric, config.batch_size),
                                        node_by_node=config.node_by_node)
        simulated = expected_score(failures, topology.failable, [r.alive for r in results], [r.score for r in results])
        if config.setting:
            document["setting"] = {"name": config.setting, "reliability": list(dataset.reliability_settings[
                config.setting]), "simulated_expected": simulated}
        else:
            document["failure_model"] = {"file": config.failure_model,
                                         "description": describe(failures, topology.failable),
                                         "simulated_expected": simulated}
    return document


def failures_of(dataset: DatasetDefinition, config) -> FailureModel | None:
    """What draws the dead nodes per window: the reliability setting --setting names (independent failures), the
    file --failure_model names (read and checked here, before Keras loads), or nothing."""
    if config.setting:
        return Independent(dict(zip(dataset.topology.failable, dataset.reliability_settings[config.setting])))
    if config.failure_model:
        return read_failure_model(Path(config.failure_model), dataset.topology.failable)
    return None


def measure(built, topology, served: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """What one stream of requests measured: the score through the actors, each failure combination against the
    simulation (`compare`), and the latency percentiles per class of request."""
    from resilinet.core.evaluation import score

    combinations = compare(built.model, topology, built.skip_mask, served, metric, built.no_path_score)
    y = np.concatenate([r["y"] for r in served])
    return {
        "requests": len(served), "samples": int(len(y)), "partial_requests": sum(bool(r["partial"]) for r in served),
        "measured": score(metric, y, np.concatenate([r["labels"] for r in served])),
        "combinations": combinations,
        "all_same_predictions": all(c["same_predictions"] for c in combinations),
        "latency": {c: percentiles([r["seconds"] for r in served if r["latency_class"] == c]) for c in LATENCY_CLASSES}
                   | {"all requests": percentiles([r["seconds"] for r in served])},
    }


def serve(dataset: DatasetDefinition, config, built, data,
          failures: FailureModel | None) -> tuple[list[list[dict[str, Any]]], dict[str, Any]]:
    """Start one actor per node, slow down the nodes --slow names, stream the requests through them (`stream`: once,
    or once per deadline) and shut them down: the requests served per stream, and what happened to the actors
    (start time, kills, restarts, deaths, placement)."""
    import ray

    from resilinet.deployment.network import DeployedNetwork
    from resilinet.deployment.nodes import NodeFailure
    from resilinet.deployment.split import split_model
    from resilinet.runs.ray_session import start_ray

    topology, kind = dataset.topology, ModelKind.named(config.model)
    guess_labels, counts = np.unique(np.asarray(data.train.y).ravel(), return_counts=True)
    started = time.perf_counter()
    started_ray = start_ray(config.ray_address)
    network = None
    try:
        network = DeployedNetwork(topology, split_model(built.model, topology, built.options.skip_mask, kind.has_skips),
                                  (guess_labels.tolist(), (counts / counts.sum()).tolist()),
                                  node_cpus=config.node_cpus, seed=config.seed, placement=placement(config, topology))
        network.start()
        for node, delay_s in slowed(config, topology).items():
            network.slow_down(node, delay_s)
        start_seconds = time.perf_counter() - started
        print(f"{len(topology.nodes)} actors started in {start_seconds:.1f} s; streaming the requests", flush=True)
        try:
            deadlines = [deadline_ms / 1000.0 for deadline_ms in config.deadline_ms] or [None]
            served = [stream(network, data.test, config, topology, failures, deadline) for deadline in deadlines]
        except NodeFailure as failure:
            raise UserError(f"node {failure.node}: {failure.message} (an error of the node's own code, not a node "
                            "failure: the deployment stops)") from None
    finally:
        if network is not None:
            network.shutdown()
        if started_ray:
            ray.shutdown()
    return served, {"actors": len(topology.nodes), "start_seconds": start_seconds, "kills": network.kills,
                    "restarts": network.restarts, "died": network.died, "placement": network.placement}


def render(document: dict[str, Any]) -> str:
    """The text of a deployment's results: what happened to the actors, then per stream of requests (one, or one per
    deadline) each failure combination against the simulation and the latency percentiles."""
    metric = document["metric"].replace("_", "-")
    lines = [f"experiment: {document['experiment']}", f"command: {document['command']}",
             f"model: {document['model']} ({document['weights']})",
             f"{document['actors']} actors started in {document['start_seconds']:.1f} s; "
             f"{document['kills']} kill(s), {document['restarts']} restart(s)",
             *[f"{node} went down at request {request}: Ray reported its actor dead (not a kill of the deployment)"
               for node, request in document["died"].items()]]
    for entry in document.get("deadlines", [document]):
        if "deadline_ms" in entry:
            lines += ["", f"== deadline {entry['deadline_ms']:g} ms per hop =="]
        lines += stream_lines(entry, metric)
    if "setting" in document:
        s = document["setting"]
        lines.append(f"simulated expected {metric} under {s['name']} {s['reliability']}: {s['simulated_expected']:.4f}")
    if "failure_model" in document:
        f = document["failure_model"]
        lines.append(f"simulated expected {metric} under {f['file']} ({f['description']}): "
                     f"{f['simulated_expected']:.4f}")
    return "\n".join(lines) + "\n"


def stream_lines(entry: dict[str, Any], metric: str) -> list[str]:
    lines = [f"requests: {entry['requests']} ({entry['samples']} samples), "
             f"{entry['partial_requests']} with a node's output reaching only some receivers", ""]
    names = [" ".join(f"{n}={'up' if up else 'DOWN'}" for n, up in c["alive"].items())
             + (" (no path)" if c["no_path"] else "") for c in entry["combinations"]]
    width = max([len("failure combination"), *map(len, names)])
    lines.append(f"{'failure combination':<{width}} {'requests':>8} {'measured':>9} {'simulated':>9}  same  "
                 "max |p - p_sim|")
    for name, c in zip(names, entry["combinations"]):
        lines.append(f"{name:<{width}} {c['requests']:>8} {c['measured']:>9.4f} {c['simulated']:>9.4f}  "
                     f"{'yes' if c['same_predictions'] else 'NO ':<4}  {c['max_probability_difference']:.1e}")
    lines += ["", f"overall {metric} through the actors: {entry['measured']:.4f}",
              f"every combination predicts as the simulation: {'yes' if entry['all_same_predictions'] else 'NO'}",
              "", f"{'latency per request':<29} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"]
    for name, p in entry["latency"].items():
        shown = [("n/a" if p[k] is None else f"{p[k]:.1f}") for k in ("p50_ms", "p95_ms", "p99_ms")]
        lines.append(f"{name:<29} {p['requests']:>8} {shown[0]:>8} {shown[1]:>8} {shown[2]:>8}")
    return lines


def write_results(document: dict[str, Any], results_dir: Path) -> Path:
    """Write a deployment's results document and its text (`render`) into `results_dir`; the .json's path."""
    data = document_text(document).encode()
    json_path = claim_results_name(Path(results_dir), document["experiment"],
                                   lambda path: path if publish_new(path, data) else None)
    write_text_atomically(json_path.with_suffix(".txt"), render(document))
    return json_path
