"""The result of one endpoint at one visit: met, not met, a value, or not evaluable.

``not evaluable`` always names what is missing; an endpoint is never ``met``
on missing data (README: missing data never produce pass).
"""

from __future__ import annotations

from dataclasses import dataclass

MET, NOT_MET, VALUE, NOT_EVALUABLE = "met", "not met", "value", "not evaluable"


@dataclass(frozen=True, slots=True)
class Outcome:
    """``status`` is MET, NOT_MET, VALUE (a number in ``value``) or NOT_EVALUABLE (see ``missing``)."""

    endpoint: str
    status: str
    detail: str
    source: str
    value: float | None = None
    missing: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"endpoint": self.endpoint, "status": self.status, "detail": self.detail}
        if self.value is not None:
            out["value"] = self.value
        if self.missing:
            out["missing"] = list(self.missing)
        out["source"] = self.source
        return out


def not_evaluable(endpoint: str, source: str, missing: list[str] | tuple[str, ...]) -> Outcome:
    """An outcome that cannot be decided, naming every missing input."""
    return Outcome(endpoint, NOT_EVALUABLE, "not evaluable: missing " + "; ".join(missing), source,
                   missing=tuple(missing))


def judged(endpoint: str, source: str, met: bool, detail: str, value: float | None = None) -> Outcome:
    return Outcome(endpoint, MET if met else NOT_MET, detail, source, value)
