"""Ray nodes on this one machine standing in for machines, to see what a machine's death does: a head
without CPUs (where the driver connects) and nodes each named by a custom resource (what `--placement`
picks). `kill` SIGKILLs a node's raylet (object store included) and every process under it at once."""
from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping
from pathlib import Path


def descendants(root: int) -> list[int]:
    """`root` and every process under it (read from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found = [root]
    for pid in found:
        found += [child for child, parent in parents.items() if parent == pid]
    return found


class LocalCluster:
    """`machines` maps a node name to its CPUs; `detect_ms` is (health check period, checks missed)
    after which Ray declares a node dead (Ray's own defaults: (3000, 5), about 15 s)."""

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

    def kill(self, name: str) -> None:
        """SIGKILL Ray node `name` and everything on it at once, as a machine going down."""
        node = self.nodes.pop(name)
        for pid in descendants(node.all_processes["raylet"][0].process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._cluster.remove_node(node, allow_graceful=False)  # reaps what was killed

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *_) -> None:
        self._cluster.shutdown()
