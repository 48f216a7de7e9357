"""One line about where a long run is, at most about once a minute, whatever --verbose says."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds // 60 % 60:02d} min"


class Progress:
    """Called after each epoch of a model: prints "<what>: epoch e/E, <t> left for the model, about
    <t> for the run" when `interval` seconds have passed since its last line, from the second epoch on.

    The first epoch of a model also builds its graph, so the estimate stands on the epochs after it: each
    epoch left takes their median, and each later model the same epochs plus this model's first-epoch
    overhead."""

    def __init__(self, what: str, models_after: int, interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, write: Callable[[str], None] | None = None):
        self.what = what
        self.models_after = models_after
        self.interval = interval
        self.clock = clock
        self.write = write or (lambda line: print(line, flush=True))
        self.last: float | None = None
        self.seconds: list[float] = []

    def __call__(self, epoch: int, epochs: int, seconds: float) -> None:
        self.seconds.append(seconds)
        now = self.clock()
        if epoch == epochs or len(self.seconds) < 2 or (self.last is not None and now - self.last < self.interval):
            return
        self.last = now
        self.write(line(self.what, epoch, epochs, self.seconds, self.models_after))


def line(what: str, epoch: int, epochs: int, seconds: list[float], models_after: int) -> str:
    """The progress line after `epoch` of `epochs`, from the epoch times of this model so far (first epoch first)."""
    steady = statistics.median(seconds[1:])
    overhead = max(0.0, seconds[0] - steady)
    model_left = (epochs - epoch) * steady
    run_left = model_left + models_after * (overhead + epochs * steady)
    return (f"{what}: epoch {epoch}/{epochs}, {duration(model_left)} left for the model, "
            f"about {duration(run_left)} for the run")
