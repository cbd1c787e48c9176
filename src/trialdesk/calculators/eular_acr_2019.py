"""2019 EULAR/ACR classification criteria for systemic lupus erythematosus.

Entry criterion: ANA >= 1:80 on HEp-2 cells (or an equivalent positive test),
ever. Additive criteria: within each domain only the highest-weighted item
counts; score = sum over domains (0-51). Classified as SLE if the entry
criterion is met AND score >= 10 AND at least one clinical criterion counts.
Items count if ever present and not better explained by another cause; that
judgement is the assessor's, before the item is recorded. Item codes are those
of data.md (``urn:trialdesk:eular-acr-2019``).

Source: Aringer M, Costenbader K, Daikh D, et al. 2019 European League Against
Rheumatism/American College of Rheumatology classification criteria for
systemic lupus erythematosus. Ann Rheum Dis 2019;78:1151-1159 (also Arthritis
Rheumatol 2019;71:1400-1412); table in clinical.md 2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, NamedTuple

from trialdesk.calculators.base import CalcResult, fmt, require_finite
from trialdesk.errors import CalculatorError

NAME = "eular-acr-2019"
UNIT = "{score}"
SOURCE = (
    "Aringer M, Costenbader K, Daikh D, et al. 2019 European League Against Rheumatism/"
    "American College of Rheumatology classification criteria for systemic lupus "
    "erythematosus. Ann Rheum Dis 2019;78:1151-1159"
)
ENTRY_TITER = 80  # ANA >= 1:80
THRESHOLD = 10


class Item(NamedTuple):
    code: str
    domain: str
    kind: Literal["clinical", "immunologic"]
    weight: int


_C, _I = "clinical", "immunologic"
ITEMS: tuple[Item, ...] = (
    Item("fever", "constitutional", _C, 2),
    Item("leukopenia", "hematologic", _C, 3),
    Item("thrombocytopenia", "hematologic", _C, 4),
    Item("autoimmune-hemolysis", "hematologic", _C, 4),
    Item("delirium", "neuropsychiatric", _C, 2),
    Item("psychosis", "neuropsychiatric", _C, 3),
    Item("seizure", "neuropsychiatric", _C, 5),
    Item("alopecia", "mucocutaneous", _C, 2),
    Item("oral-ulcers", "mucocutaneous", _C, 2),
    Item("subacute-cutaneous-or-discoid-lupus", "mucocutaneous", _C, 4),
    Item("acute-cutaneous-lupus", "mucocutaneous", _C, 6),
    Item("pleural-or-pericardial-effusion", "serosal", _C, 5),
    Item("acute-pericarditis", "serosal", _C, 6),
    Item("joint-involvement", "musculoskeletal", _C, 6),
    Item("proteinuria", "renal", _C, 4),
    Item("lupus-nephritis-class-2-or-5", "renal", _C, 8),
    Item("lupus-nephritis-class-3-or-4", "renal", _C, 10),
    Item("antiphospholipid-antibodies", "antiphospholipid", _I, 2),
    Item("low-c3-or-c4", "complement", _I, 3),
    Item("low-c3-and-c4", "complement", _I, 4),
    Item("anti-dsdna-or-anti-smith", "sle-specific-antibodies", _I, 6),
)
BY_CODE: dict[str, Item] = {item.code: item for item in ITEMS}

_TITER = re.compile(r"(<=|>=|<|>|≤|≥)?\s*(1\s*[:/]\s*)?(\d+(?:\.\d+)?)")
_NEGATIVE = {"negative", "neg", "阴性"}
_POSITIVE = {"positive", "pos", "阳性"}


def parse_titer(text: str) -> float | None:
    """The ANA titer denominator (160 for ``"1:160"``), 0 for negative, None if undecidable.

    Accepts ``"1:160"``, ``"1/160"``, ``"160"``, ``"negative"``/``"阴性"`` (-> 0).
    A bound decides only if it settles the 1:80 entry criterion:
    ``"<1:80"``, ``"<1:40"``, ``"<=1:40"`` -> 0 (negative for entry);
    ``">=1:160"``, ``">1:80"`` -> the bound (160, 80: entry met);
    ``"<1:160"``, ``">1:40"``, and ``"positive"`` without a titer -> None (unknown).
    Raises CalculatorError for anything else.
    """
    raw = str(text).strip()
    word = raw.lower()
    if word in _NEGATIVE:
        return 0.0
    if word in _POSITIVE:
        return None
    match = _TITER.fullmatch(raw)
    if match is None or (match.group(2) and float(match.group(3)) == 0):
        raise CalculatorError(f"cannot read an ANA titer from {text!r} (e.g. 1:160)", "ana")
    op, denominator = match.group(1), float(match.group(3))
    if op is None:
        return denominator
    if op == "<":
        return 0.0 if denominator <= ENTRY_TITER else None
    if op in ("<=", "≤"):
        return 0.0 if denominator < ENTRY_TITER else None
    return denominator if denominator >= ENTRY_TITER else None  # a lower bound


def classify(ana_titer: float | None, items: Iterable[str]) -> CalcResult:
    """Score the items and classify; ``ana_titer`` is the denominator (160 for 1:160).

    ``value`` is the score (highest item per domain). ``extra`` holds
    ``classified``, ``entry_criterion`` (None when ``ana_titer`` is None),
    ``clinical_domains`` and ``counted``. Raises CalculatorError for an unknown
    item or a negative titer.
    """
    entry = _entry(ana_titer)
    given = {str(code).strip().lower() for code in items} - {""}
    unknown = sorted(given - BY_CODE.keys())
    if unknown:
        raise CalculatorError(
            f"unknown EULAR/ACR 2019 item(s) {unknown}; known: {', '.join(BY_CODE)}", "items"
        )
    best: dict[str, Item] = {}
    for item in ITEMS:  # equal weights in a domain: the first in table order counts
        current = best.get(item.domain)
        if item.code in given and (current is None or item.weight > current.weight):
            best[item.domain] = item
    counted = list(best.values())
    total = sum(item.weight for item in counted)
    clinical = sum(item.kind == _C for item in counted)
    classified = entry is True and total >= THRESHOLD and clinical >= 1
    return CalcResult(
        name=NAME,
        value=total,
        unit=UNIT,
        inputs={"ana": _titer_text(ana_titer), "items": sorted(given)},
        equation=_equation(ana_titer, entry, given, counted, total, clinical, classified),
        source=SOURCE,
        extra={
            "classified": classified,
            "entry_criterion": entry,
            "clinical_domains": clinical,
            "counted": [item.code for item in counted],
        },
    )


def _entry(ana_titer: float | None) -> bool | None:
    if ana_titer is None:
        return None
    titer = require_finite(ana_titer, "ana")
    if titer < 0:
        raise CalculatorError(f"ana titer must be >= 0, got {fmt(titer)}", "ana")
    return titer >= ENTRY_TITER


def _titer_text(ana_titer: float | None) -> str:
    if ana_titer is None:
        return "unknown"
    return "negative" if ana_titer == 0 else f"1:{fmt(ana_titer)}"


def _equation(
    ana_titer: float | None,
    entry: bool | None,
    given: set[str],
    counted: list[Item],
    total: int,
    clinical: int,
    classified: bool,
) -> str:
    entry_text = {None: "unknown", True: "met", False: "not met"}[entry]
    terms = " + ".join(f"{item.code} {item.weight}" for item in counted) or "no item"
    dropped = sorted(given - {item.code for item in counted})
    note = f" (not counted, lower in its domain: {', '.join(dropped)})" if dropped else ""
    return (
        f"ANA {_titer_text(ana_titer)} (entry >= 1:{ENTRY_TITER}: {entry_text}); "
        f"{terms} = {total}{note}; {clinical} clinical domain(s); "
        f"classified: {'yes' if classified else 'no'}"
    )
