"""Reading one observation's result the way data.md says it arrives.

Each reader returns the value, or None with the reason it could not be read
(never a guess): a missing or unknown unit, an impossible value, an
unrecognised code.
"""

from __future__ import annotations

import re

from trialdesk.calculators.units import convert
from trialdesk.errors import UnitError
from trialdesk.patient.model import SNOMED, Observation
from trialdesk.protocol.model import Measure

POSITIVE_CODES = {"10828004", "260373001"}  # positive, detected (SNOMED)
NEGATIVE_CODES = {"260385009", "260415000"}  # negative, not detected
POSITIVE_FLAGS = {"POS", "DET", "A", "H", "HH"}
NEGATIVE_FLAGS = {"NEG", "ND", "N"}
POSITIVE_WORDS = {"positive", "reactive", "detected", "阳性", "pos", "+"}
NEGATIVE_WORDS = {"negative", "non-reactive", "nonreactive", "not detected", "undetected", "阴性", "neg", "-"}
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
_TRAILING = re.compile(r"(\d+|\b[IV]+)\s*$")


def number(obs: Observation, measure: Measure) -> tuple[float | None, str | None]:
    """The numeric result in the measure's unit, or (None, why not)."""
    value = obs.value
    if value is None and measure.unit is None:
        value = _trailing_number(obs)
    if value is None:
        return None, "has no numeric result"
    if measure.unit is not None:
        unit = obs.unit or measure.unitless
        if not unit:
            return None, f"value {value:g} has no unit"
        try:
            value = convert(value, unit, measure.unit, measure.analyte)
        except UnitError as exc:
            return None, f"unit {obs.unit!r} cannot be read as {measure.unit}: {exc}"
    if measure.plausible is not None:
        low, high = measure.plausible
        if not low <= value <= high:
            shown = f"{obs.value:g} {obs.unit or ''}".strip()
            return None, f"value {shown} is impossible for {measure.label} (plausible {low:g}-{high:g} {measure.unit or ''})".rstrip()
    return value, None


def _trailing_number(obs: Observation) -> float | None:
    """A score coded as a concept whose code or text ends in a number or roman numeral."""
    texts = [c.code for c in obs.value_codes] + [c.display or "" for c in obs.value_codes] + [obs.text or ""]
    for text in texts:
        m = _TRAILING.search(text.strip())
        if m:
            token = m.group(1)
            return float(token) if token.isdigit() else _ROMAN.get(token)
    return None


def coded(obs: Observation, measure: Measure, system: str) -> str | None:
    """The result code from ``system`` if it is one the measure allows."""
    for c in obs.value_codes:
        if c.system == system and c.code in measure.codes:
            return c.code
    return None


def qualitative(obs: Observation) -> bool | None:
    """Positive (True), negative (False), or unreadable (None), per data.md."""
    for c in obs.value_codes:
        if c.system == SNOMED and c.code in POSITIVE_CODES:
            return True
        if c.system == SNOMED and c.code in NEGATIVE_CODES:
            return False
    if obs.value_bool is not None:
        return obs.value_bool
    flags = set(obs.interpretation)
    if flags & POSITIVE_FLAGS:
        return True
    if flags & NEGATIVE_FLAGS:
        return False
    word = (obs.text or "").strip().lower()
    if word in POSITIVE_WORDS:
        return True
    if word in NEGATIVE_WORDS:
        return False
    if obs.value is not None and obs.ref_high is not None:
        return obs.value > obs.ref_high
    return None


def above_range(obs: Observation) -> bool | None:
    """A viral load above the reference range (data.md): value > high, or H/HH/POS/DET/A."""
    if obs.value is not None and obs.ref_high is not None:
        return obs.value > obs.ref_high
    return qualitative(obs) if obs.value is None or obs.interpretation else None
