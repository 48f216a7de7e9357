"""The one entry wrapper of the three programs (experiment scripts, deployment scripts, report)."""
from __future__ import annotations

import sys
from typing import Callable, TypeVar

from resilinet.base.errors import Interrupted, UserError

T = TypeVar("T")


def run_program(program: str, body: Callable[[], T]) -> T:
    """Run a program's `body`: bad input (UserError) exits 2 and Ctrl-C (Interrupted) exits 130,
    each with one line on stderr that names the program, and no traceback."""
    try:
        return body()
    except Interrupted as interrupted:
        print(f"{program}: {interrupted}", file=sys.stderr)
        raise SystemExit(130) from None
    except UserError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
