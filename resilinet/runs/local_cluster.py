"""Ray nodes on this one machine standing in for machines, to see what a machine's death does.

A head without CPUs (where the driver connects and its objects live) and named nodes, each with its
CPU share and a custom resource of its own name (what `--placement` and the resources of a task
pick it by). `kill` ends a node as a machine's death does: its raylet (with the object store in it)
and every process under it (workers, actors, agents) get SIGKILL at once, and the objects they held
are lost. The Ray cluster notices through its health checks, here made fast (`detect_ms`); on real
machines README's cluster recipe does the same with `ray start`.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Mapping

# Ray's own defaults: a raylet that misses 5 health checks 3 s apart is declared dead (about 15 s).
RAY_DEFAULT_DETECT_MS = (3000, 5)


def descendants(root: int) -> list[int]:
    """`root` and every process under it (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found = [root]
    for pid in found:
        found += [child for child, parent in parents.items() if parent == pid]
    return found


class LocalCluster:
    """`machines` maps a node name to its CPUs; `detect_ms` is (health check period, checks missed)
    after which Ray declares a node dead."""

    def __init__(self, machines: Mapping[str, float], detect_ms: tuple[int, int] = (200, 3)):
        from ray.cluster_utils import Cluster

        period, missed = detect_ms
        self._cluster = Cluster(initialize_head=True, connect=False, head_node_args=dict(
            num_cpus=0, include_dashboard=False,
            _system_config={"health_check_period_ms": period, "health_check_failure_threshold": missed}))
        self.nodes = {}
        for name, cpus in machines.items():
            self.add(name, cpus)

    @property
    def address(self) -> str:
        return self._cluster.address

    def add(self, name: str, cpus: float) -> None:
        """Start Ray node `name` with `cpus` CPUs and wait until the cluster has it."""
        self.nodes[name] = self._cluster.add_node(num_cpus=cpus, resources={name: 1.0})
        self._cluster.wait_for_nodes()

    def processes(self, name: str) -> list[int]:
        """The pids of everything running on Ray node `name`."""
        return descendants(self.nodes[name].all_processes["raylet"][0].process.pid)

    def kill(self, name: str) -> None:
        """SIGKILL Ray node `name` and everything on it at once, as a machine going down."""
        pids = self.processes(name)
        node = self.nodes.pop(name)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._cluster.remove_node(node, allow_graceful=False)  # reaps what was killed

    def shutdown(self) -> None:
        self._cluster.shutdown()

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *_) -> None:
        self.shutdown()
