"""The error types the scripts turn into a clear exit, and the Ctrl-C watch that makes one of them."""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace


class UserError(Exception):
    """Missing or corrupt data, a wrong constant or a bad flag; the message says what and where."""


class NoRoom(UserError):
    """A full disk stopped the run: what was complete is kept, to be resumed once there is room."""


class Interrupted(Exception):
    """Ctrl-C during a run: the scripts say what was kept and exit 130."""


@contextmanager
def watch_ctrl_c(on_repeat: Callable[[], None] | None = None) -> Iterator[SimpleNamespace]:
    """Note every Ctrl-C (in `pressed`) before it raises KeyboardInterrupt as usual: TensorFlow can turn a
    KeyboardInterrupt raised in its own code into another exception (a RuntimeError, or a ValueError out of
    tf.data), so the caller asks `pressed` instead of the type. With `on_repeat`, a Ctrl-C after the first
    calls it instead (the first one's clean-up is under way)."""
    noted = SimpleNamespace(pressed=False)
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = signal.getsignal(signal.SIGINT)

    def note(signum, frame):
        if noted.pressed and on_repeat is not None:
            on_repeat()
            return
        noted.pressed = True
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)
