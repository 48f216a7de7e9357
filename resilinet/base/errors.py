"""The error types the scripts turn into a clear exit, the Ctrl-C watch that makes one of them, the hold that
lets a Ctrl-C through only at safe points, and the bound on the time a program takes to stop after one."""
from __future__ import annotations

import signal
import sys
import threading
import time
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
    calls it instead (the first one's clean-up is under way).

    A Ctrl-C can also land where Python drops exceptions after printing them: a garbage-collector callback
    (JAX installs one), a `__del__`, or C++ code of TensorFlow that reports an error and goes on (the
    KeyboardInterrupt then comes as the cause of a SystemError). There it is neither printed nor lost: it is
    raised again at the next Python call."""
    noted = SimpleNamespace(pressed=False)
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = signal.getsignal(signal.SIGINT)
    previous_unraisablehook, previous_excepthook = sys.unraisablehook, sys.excepthook

    def note(signum, frame):
        if noted.pressed and on_repeat is not None:
            on_repeat()
            return
        noted.pressed = True
        _begin_stopping()
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    def dropped(error: BaseException | None) -> bool:
        """Whether `error` is our Ctrl-C, or an error it caused, that Python is about to print and drop; if so,
        raise it again later."""
        if not (noted.pressed and _caused_by_ctrl_c(error)):
            return False
        if threading.current_thread() is threading.main_thread():
            _raise_at_the_next_call()
        return True

    def unraisablehook(unraisable):
        if not dropped(unraisable.exc_value):
            previous_unraisablehook(unraisable)

    def excepthook(kind, value, traceback):
        if not dropped(value):
            previous_excepthook(kind, value, traceback)

    signal.signal(signal.SIGINT, note)
    sys.unraisablehook, sys.excepthook = unraisablehook, excepthook
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook, sys.excepthook = previous_unraisablehook, previous_excepthook
        if sys.gettrace() is _raise_keyboard_interrupt:
            sys.settrace(_dropped_interrupt.tracer)


_stopping = SimpleNamespace(active=False, begun=None)  # `ends_within`: a block runs; when its first Ctrl-C came


@contextmanager
def ends_within(seconds: float, overrun: Callable[[], None]) -> Iterator[None]:
    """Bound the time the block takes to stop: once a Ctrl-C is pressed inside it (noted by `watch_ctrl_c` or
    held by `ctrl_c_at_safe_points`), a daemon thread calls `overrun` if the block has not ended `seconds` later.
    `overrun` ends the process: the main thread may be stuck in a library's C++ code, where no handler of Python
    runs."""
    ended = threading.Event()
    outer = _stopping.active, _stopping.begun
    _stopping.active, _stopping.begun = True, None

    def watch() -> None:
        while not ended.wait(0.5):
            begun = _stopping.begun
            if begun is not None and time.monotonic() - begun > seconds:
                overrun()
                return

    threading.Thread(target=watch, name="stop-bound", daemon=True).start()
    try:
        yield
    finally:
        ended.set()
        _stopping.active, _stopping.begun = outer


def _begin_stopping() -> None:
    """Start the clock of `ends_within`, if a block of it is running, at the first Ctrl-C (in a signal handler:
    plain assignments only)."""
    if _stopping.active and _stopping.begun is None:
        _stopping.begun = time.monotonic()


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """Take a SIGTERM (`kill`, `timeout`, a cluster's scheduler ending a job) as a Ctrl-C: the SIGINT handler of the
    moment runs, so a run stops as from Ctrl-C, where Ctrl-C would, saying what it kept. Outside the main thread
    the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def as_ctrl_c(signum, frame):
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler):  # SIGINT ignored or left to the system: stop all the same
            raise KeyboardInterrupt
        handler(signal.SIGINT, frame)

    previous = signal.signal(signal.SIGTERM, as_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def signal_handlers_kept(*signals: signal.Signals) -> Iterator[None]:
    """Put back the Python handlers of `signals` after the block, which installs its own (Ray's `ray.init` makes
    SIGTERM exit the process, after a C++ stack dump)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handlers = {number: signal.getsignal(number) for number in signals}
    try:
        yield
    finally:
        for number, handler in handlers.items():
            if handler is not None:
                signal.signal(number, handler)


_held = SimpleNamespace(active=False, pressed=False, outside=None)  # the state of `ctrl_c_at_safe_points`


@contextmanager
def ctrl_c_at_safe_points() -> Iterator[None]:
    """Hold a Ctrl-C pressed inside the block until the next `safe_point()` (or the block's end), where the
    SIGINT handler outside the block (`watch_ctrl_c`'s) sees it and raises KeyboardInterrupt. Raised anywhere
    else, a KeyboardInterrupt can land in TensorFlow while it builds a graph, which may swallow it: the run
    went on, and deleting a graph at the next model corrupted the heap (glibc's "free(): invalid next size",
    the process killed by SIGABRT). A second Ctrl-C while one is held is let through at once. Outside the
    main thread, or where SIGINT is ignored, the block runs unchanged."""
    outside = signal.getsignal(signal.SIGINT)
    if _held.active or threading.current_thread() is not threading.main_thread() or not callable(outside):
        yield
        return

    def hold(signum, frame):
        if not _held.pressed:
            _held.pressed = True
            _begin_stopping()
            return
        _held.pressed = False
        _let_through(outside)

    signal.signal(signal.SIGINT, hold)
    _held.active, _held.outside = True, outside
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, outside)
        pressed, _held.active, _held.pressed, _held.outside = _held.pressed, False, False, None
    if pressed:  # the block ended without reaching a safe point since the Ctrl-C
        _let_through(outside)


def safe_point() -> None:
    """Where a Ctrl-C held by `ctrl_c_at_safe_points` raises KeyboardInterrupt: between two batches, epochs or
    jobs, in the project's own code. Does nothing otherwise."""
    if _held.pressed and threading.current_thread() is threading.main_thread():
        _held.pressed = False
        _let_through(_held.outside)


def _let_through(handler: Callable) -> None:
    """Run the SIGINT `handler` from outside the hold as if Ctrl-C had just been pressed (it raises)."""
    handler(signal.SIGINT, None)
    raise KeyboardInterrupt


def _caused_by_ctrl_c(error: BaseException | None) -> bool:
    """Whether `error` is a KeyboardInterrupt or was raised while handling one (C code that gets one back from
    a Python call raises a SystemError from it)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


_dropped_interrupt = SimpleNamespace(tracer=None)  # the trace function to restore once it is raised


def _raise_at_the_next_call() -> None:
    """Raise KeyboardInterrupt when the main thread next enters a Python function: a trace function, set
    last so that it fires after the code that dropped the interrupt has returned."""
    if sys.gettrace() is not _raise_keyboard_interrupt:
        _dropped_interrupt.tracer = sys.gettrace()
    sys.settrace(_raise_keyboard_interrupt)


def _raise_keyboard_interrupt(frame, event, arg):
    sys.settrace(_dropped_interrupt.tracer)
    raise KeyboardInterrupt
