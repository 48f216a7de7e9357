"""Starting Ray, the one way every part of the project does it: quiet (no dashboard, no worker log
spam), a local instance inside this process by default, or an existing cluster by address."""
from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Sequence
from pathlib import Path

from resilinet.base.errors import UserError, signal_handlers_kept
from resilinet.base.keras_import import keras_backend

REPOSITORY = Path(__file__).resolve().parents[2]  # the checkout that holds the resilinet package
# Deployed node actors outnumber the CPUs by design (--node_cpus=0.1): a local instance starts their worker processes
# this many at a time, not one per CPU, so Ray does not warn on the console that more workers started than CPUs.
LOCAL_WORKER_STARTUP_CONCURRENCY = 64
HOW_TO_START = ("start one with `ray start --head` and pass the address it prints, or use --ray_address=auto on a "
                "machine that joined a cluster")


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fail within seconds when nothing listens at a host:port address (Ray itself retries for a
    minute and more); `auto` is left to Ray, which answers at once when no cluster is found."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise UserError(f"--ray_address={address}: no Ray cluster answers there ({error.strerror or error}); "
                        f"{HOW_TO_START}") from None


def start_ray(address: str = "", num_cpus: int | None = None) -> bool:
    """Connect to the Ray cluster at `address`, or start a local instance with `num_cpus` CPUs; whether
    this call did (the caller then shuts Ray down), False when Ray was already initialised in this process."""
    import ray

    if ray.is_initialized():
        return False
    quiet = dict(include_dashboard=False, log_to_driver=False, configure_logging=True, logging_level=logging.ERROR)
    if not address:
        with signal_handlers_kept(signal.SIGTERM):  # a SIGTERM stops the run as Ctrl-C does
            ray.init(address="local", num_cpus=num_cpus, **quiet,
                     _system_config={"worker_maximum_startup_concurrency": LOCAL_WORKER_STARTUP_CONCURRENCY})
        return True
    check_reachable(address)
    try:
        with signal_handlers_kept(signal.SIGTERM):
            ray.init(address=address, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as error:
        raise UserError(f"--ray_address={address}: cannot connect to a Ray cluster ({error}); {HOW_TO_START}") from None
    return True


def alive_node_resources() -> list[dict[str, float]]:
    """The resources (CPU, GPU, memory, custom names) of each node of the Ray cluster that is alive."""
    import ray

    return [node["Resources"] for node in ray.nodes() if node.get("Alive")]


def project_environment(paths: Sequence[str] = (), **variables: str) -> dict[str, str]:
    """The environment variables of a Ray worker of this project: this checkout (and `paths`) on its
    PYTHONPATH before the driver's own, the driver's Keras backend, and `variables`."""
    search = [str(REPOSITORY), *paths] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(search)), "KERAS_BACKEND": keras_backend(),
            **variables}
