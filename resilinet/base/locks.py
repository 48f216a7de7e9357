"""A lock that one process holds on a run while it writes the run's files. The kernel releases it when its
holder ends in any way (a kill included), so a killed run never leaves a lock that blocks its resume."""
from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from resilinet.base.errors import UserError


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


@contextmanager
def holding_lock(path: Path, what: str) -> Iterator[None]:
    """Hold the lock file `path` for the block, or raise a UserError saying that `what` is in use by another
    process (its process id and host, as the holder wrote them). The file is removed when the block ends."""
    path = Path(path)
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            holder = _holder(path)
            raise UserError(f"{what} is in progress in another process{f' ({holder})' if holder else ''}: "
                            f"wait until it ends, or stop it first (its lock: {path})") from None
        try:  # a holder that ended between our open and our lock removed the file we locked: lock the new one
            if os.fstat(descriptor).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(descriptor)
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"process {os.getpid()} on {socket.gethostname()}\n".encode())
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(descriptor)
