"""The one entry wrapper of the three programs (experiment scripts, deployment scripts, report)."""
from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from resilinet.base.errors import Interrupted, UserError, ends_within, sigterm_as_ctrl_c, watch_ctrl_c

T = TypeVar("T")

STOP_SECONDS = 60.0  # the longest a program may take to stop after a Ctrl-C (its clean-up takes a few seconds)


def run_program(program: str, body: Callable[[], T]) -> T:
    """Run a program's `body`: bad input (UserError) exits 2 and Ctrl-C (or SIGTERM) exits 130, each with one line
    on stderr that names the program, and no traceback. A Ctrl-C anywhere in `body` (importing Keras, loading
    data, training, a deployment) counts, even where a library turned it into another exception or swallowed
    it; a second Ctrl-C while the first one's clean-up runs ends the process at once, with the same line, and so
    does a clean-up still running `STOP_SECONDS` after the Ctrl-C (a library stuck in its own code). A closed
    stdout (the program piped into `head`) ends it quietly with exit 0."""
    def stop_at_once() -> None:
        _exit_interrupted(program, "interrupted again: stopped at once")

    def stop_overran() -> None:
        if faulthandler.is_enabled():  # Python's fault handler on (PYTHONFAULTHANDLER=1): first, where it stuck
            faulthandler.dump_traceback(all_threads=True)
        _exit_interrupted(program, f"interrupted: still stopping {STOP_SECONDS:g} s later: stopped at once")

    try:
        with (ends_within(STOP_SECONDS, stop_overran), watch_ctrl_c(on_repeat=stop_at_once) as ctrl_c,
              sigterm_as_ctrl_c()):
            try:
                result = body()
            except (UserError, Interrupted):
                raise
            except BaseException:
                if ctrl_c.pressed:
                    raise Interrupted("interrupted") from None
                raise
            if ctrl_c.pressed:
                raise Interrupted("interrupted")
            return result
    except BrokenPipeError:  # the reader of stdout went away (`--help | head -1`): end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
    except Interrupted as interrupted:
        print(f"{program}: {interrupted}", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    except UserError as error:
        print(f"{program}: error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def _exit_interrupted(program: str, message: str) -> None:
    """Say `message` and end the process now. Written to file descriptor 2 directly: the main thread may be stuck,
    or interrupted, inside a write to sys.stderr, whose buffer a second writer would wait for or refuse."""
    os.write(2, f"{program}: {message}\n".encode())
    os._exit(130)
