"""How a setting is declared (`Setting`: type, default, meaning, allowed values, role) and the typed, frozen
configuration a script builds from its declarations (`make_config`). The settings themselves are declared in
`resilinet.runs.settings`."""
from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """Numbers from `low` (excluded if `low_open`) up to `high` (None: no upper bound)."""

    low: float
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value) -> bool:
        below_low = value <= self.low if self.low_open else value < self.low
        above_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        return not below_low and not above_high

    def __str__(self) -> str:
        if self.high is None:
            return f"greater than {self.low}" if self.low_open else f"at least {self.low}"
        return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"


@dataclass(frozen=True)
class OffOrAtLeast:
    """0 (off), or a number from `low` up."""

    low: float

    def __contains__(self, value) -> bool:
        return value == 0 or value >= self.low

    def __str__(self) -> str:
        return f"0 (off) or at least {self.low}"


class Check(enum.Enum):
    """A comparison of two runs' settings: each refuses runs whose compared settings differ."""

    RESUME = "a resumed run against the run it continues"
    EVALUATE_SAVED = "--evaluate_saved against the run whose weights it scores"
    POOL = "the report, between the results files it pools"
    DEPLOY = "a deployment against the run whose weights it deploys"


class Role(enum.Enum):
    """What a setting changes, which decides which checks compare it and which scripts take it.

    Each value is (what it changes, the checks that compare it, taken by experiment scripts, taken by the deployment);
    a declaration may say otherwise for the scripts (`Setting.deployment`)."""

    NETWORK = ("the networks or the data they see", frozenset(Check), True, True)
    TRAINING = ("which models are trained, or how", frozenset({Check.RESUME, Check.EVALUATE_SAVED, Check.POOL}),
                True, False)
    SEED = ("the random draws; runs of different seeds are independent iterations",
            frozenset({Check.RESUME, Check.EVALUATE_SAVED}), True, True)
    EVALUATION = ("only how trained weights are scored", frozenset({Check.RESUME, Check.POOL}), True, False)
    OUTPUT = ("where files go, how much is printed, or how the work is spread: never a number", frozenset(), True,
              False)
    DEPLOYMENT = ("the deployment of trained weights as Ray actors", frozenset(), False, True)

    @property
    def changes(self) -> str:
        return self.value[0]

    @property
    def compared_by(self) -> frozenset[Check]:
        return self.value[1]

    @property
    def in_experiments(self) -> bool:
        return self.value[2]

    @property
    def in_deployment(self) -> bool:
        return self.value[3]


REQUIRED = object()  # a setting without a default of its own: each dataset (or script) sets it


@dataclass(frozen=True)
class Setting:
    """One setting of the scripts, declared once.

    Attributes:
        type: bool, int, float or str; with `is_list` a comma-separated list of them (a tuple).
        meaning: What --help says of it.
        role: What it changes (`Role`).
        default: Its value where no dataset or script sets one (REQUIRED: they must).
        choices, range: The values it accepts (for a list: each item).
        environment: An environment variable that, set and not empty, replaces the default.
        not_empty: A path: an empty value (an unset shell variable) is refused.
        deployment: Whether the deployment takes it (None: as its role says).
        absent_means: The value a results file written before the setting existed is read as (the one
            that reproduces what those runs did); None: the setting was always recorded.
    """

    type: type
    meaning: str
    role: Role
    default: Any = REQUIRED
    is_list: bool = False
    choices: tuple = ()
    range: Range | OffOrAtLeast | None = None
    environment: str = ""
    not_empty: bool = False
    deployment: bool | None = None
    absent_means: Any = None

    @property
    def in_experiments(self) -> bool:
        return self.role.in_experiments

    @property
    def in_deployment(self) -> bool:
        return self.role.in_deployment if self.deployment is None else self.deployment

    def has_type_of(self, value: Any) -> bool:
        """Whether `value` is of the declared type (an int is a float; a list setting takes a tuple of them)."""
        def fits(item: Any) -> bool:
            if self.type is float:
                return isinstance(item, (int, float)) and not isinstance(item, bool)
            if self.type is int:
                return isinstance(item, int) and not isinstance(item, bool)
            return isinstance(item, self.type)

        if self.is_list:
            return isinstance(value, tuple) and all(fits(item) for item in value)
        return fits(value)


def make_config(values: Mapping[str, Any], settings: Mapping[str, Setting]) -> Any:
    """A frozen dataclass instance holding `values`, one typed field per setting (named as the setting): code reads
    attributes that exist, and a changed copy is `dataclasses.replace(config, key=value)`."""
    def annotation(key: str) -> Any:
        setting = settings.get(key)
        if setting is None:
            return Any
        return tuple[setting.type, ...] if setting.is_list else setting.type

    fields = [(key, annotation(key)) for key in values]
    config_class = dataclasses.make_dataclass("Config", fields, frozen=True)
    return config_class(**values)


def as_dict(config: Any) -> dict[str, Any]:
    """A configuration's settings by name (a dataclass's fields, or any namespace's attributes)."""
    return dict(vars(config))
