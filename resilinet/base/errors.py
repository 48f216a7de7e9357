"""The error types the scripts turn into a clear exit, and the Ctrl-C watch that makes one of them."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Iterator


class UserError(Exception):
    """Missing or corrupt data, a wrong constant or a bad flag; the message says what and where."""


class Interrupted(Exception):
    """Ctrl-C during a run: the scripts say what was kept and exit 130."""


@contextmanager
def watch_ctrl_c() -> Iterator[SimpleNamespace]:
    """Note every Ctrl-C (in `pressed`) before it raises KeyboardInterrupt as usual: TensorFlow can turn a
    KeyboardInterrupt raised in its own code into another exception (a RuntimeError, or a ValueError out of
    tf.data), so the caller asks `pressed` instead of the type."""
    noted = SimpleNamespace(pressed=False)
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = signal.getsignal(signal.SIGINT)

    def note(signum, frame):
        noted.pressed = True
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)
