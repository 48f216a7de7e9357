"""Starting Ray, the one way every part of the project does it: quiet (no dashboard, no worker log
spam), a local instance inside this process by default, or an existing cluster by address."""
from __future__ import annotations

import logging

from resilinet.errors import UserError


def start_ray(address: str = "", num_cpus: int | None = None) -> bool:
    """Connect to the Ray cluster at `address`, or start a local instance with `num_cpus` CPUs.

    Returns whether this call started or connected Ray (the caller then shuts it down); False when
    Ray was already initialised in this process.
    """
    import ray

    if ray.is_initialized():
        return False
    quiet = dict(include_dashboard=False, log_to_driver=False, configure_logging=True, logging_level=logging.ERROR)
    if address:
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise UserError(f"--ray_address={address}: cannot connect to a Ray cluster ({error}); "
                            "start one with `ray start --head`") from None
    else:
        ray.init(address="local", num_cpus=num_cpus, **quiet)
    return True
