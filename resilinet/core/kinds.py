"""The four kinds of distributed network (no Keras import, so flag parsing stays fast)."""
from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from resilinet.core.topology import Connection


class ModelKind(enum.Enum):
    VANILLA = "Vanilla"
    DFG = "DFG"
    RESILINET = "ResiliNet"
    RESILINET_PLUS = "ResiliNet+"

    @property
    def has_skips(self) -> bool:
        return self is not ModelKind.VANILLA

    @property
    def has_failout(self) -> bool:
        return self in (ModelKind.RESILINET, ModelKind.RESILINET_PLUS)

    @property
    def file_name(self) -> str:
        return self.value.replace("+", "Plus")

    @classmethod
    def named(cls, name: str) -> ModelKind | None:
        """The kind called `name` (its value, ResiliNet+, or its file name, ResiliNetPlus); None if none is."""
        return next((kind for kind in cls if name in (kind.value, kind.file_name)), None)


@dataclass(frozen=True)
class ModelOptions:
    """How one model variant differs from the default network of its kind."""

    skip_mask: Sequence[bool] | None = None
    weights: Mapping[Connection, float] | None = None
    survival_rates: Mapping[str, float] | float | None = None  # None: the dataset's default

    def survival_rates_or(self, default: float) -> Mapping[str, float] | float:
        """This variant's failout survival rates, or `default` where it sets none."""
        return default if self.survival_rates is None else self.survival_rates
