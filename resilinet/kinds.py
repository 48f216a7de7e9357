"""The four kinds of distributed network (no Keras import, so flag parsing stays fast)."""
import enum


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
