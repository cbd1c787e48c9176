"""Hypothesis strategies for screening properties: patients, lost measurements, corrupted and hostile bundles.

Everything starts from the committed example bundles (``examples/*.json``), so a
generated case reads as "the eligible patient, with this one thing broken".
Strategies return JSON-ready dicts or the bytes a site would send; the tests
read them with ``read_bundle`` exactly as the CLI does.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from conftest import AS_OF
from hypothesis import strategies as st

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OUTCOMES = frozenset({"pass", "fail", "unknown", "review", "not_applicable"})


def example(name: str) -> dict:
    """A fresh copy of ``examples/<name>.json``."""
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def expected_overall(outcomes: list[str]) -> str:
    """criteria.md, Outcomes: any fail -> ineligible; else unknown -> incomplete; else review -> needs_review."""
    if "fail" in outcomes:
        return "ineligible"
    if "unknown" in outcomes:
        return "incomplete"
    if "review" in outcomes:
        return "needs_review"
    return "eligible"


# -- Patients with nothing but demographics ---------------------------------------

GENDERS = ("male", "female", "other", "unknown")


def birth_dates() -> st.SearchStrategy[str | None]:
    """A FHIR birthDate: full, year-month or year (partial), or missing."""
    days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
    return st.one_of(
        st.none(),
        days.map(date.isoformat),
        days.map(lambda d: f"{d.year:04d}-{d.month:02d}"),
        days.map(lambda d: f"{d.year:04d}"),
    )


@st.composite
def patient_only_bundles(draw: st.DrawFn, garbage: bool = False) -> dict:
    """A Bundle holding one Patient and nothing else.

    With ``garbage``, gender and birthDate may also be unreadable strings (the
    reader reports them as data issues and screens the patient anyway).
    """
    genders = st.one_of(st.none(), st.sampled_from(GENDERS))
    births = birth_dates()
    if garbage:
        genders = st.one_of(genders, st.text(max_size=12))
        births = st.one_of(births, st.sampled_from(INVALID_DATES), st.text(max_size=12))
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "p"}
    gender, birth = draw(genders), draw(births)
    if gender is not None:
        patient["gender"] = gender
    if birth is not None:
        patient["birthDate"] = birth
    return {"resourceType": "Bundle", "type": draw(st.sampled_from(BUNDLE_TYPES)),
            "entry": [{"resource": patient}]}


BUNDLE_TYPES = ("collection", "transaction", "batch", "searchset", "document")


# -- Required measurements of the eligible examples --------------------------------

@dataclass(frozen=True)
class Measurement:
    """A screening measurement the eligible examples carry, and the criterion it decides."""

    name: str
    codes: tuple[str, ...]  # Observation.code.coding[].code (LOINC or local)
    criterion: str
    fresh_days: int = 30  # a value older than this many days before screening no longer counts


#: Every measurement criteria.md requires (fresh) for an eligible patient; the height is
#: needed because both eligible examples are children (CKiD U25). The SRNS example is
#: scored with Lansky instead of ECOG (CL-1), so "ECOG" covers both scales.
REQUIRED = (
    Measurement("LVEF", ("10230-1",), "INC-LVEF"),
    Measurement("ECG", ("8601-7",), "INC-ECG"),
    Measurement("creatinine", ("14682-9",), "INC-RENAL"),
    Measurement("height", ("8302-2",), "INC-RENAL", fresh_days=96),  # 90 days from the creatinine (day -6)
    Measurement("AST", ("1920-8",), "INC-LIVER"),
    Measurement("ALT", ("1742-6",), "INC-LIVER"),
    Measurement("bilirubin", ("14631-6",), "INC-LIVER"),
    Measurement("SpO2", ("59408-5",), "INC-LUNG"),
    Measurement("ECOG", ("89247-1", "lansky"), "INC-ECOG"),
    Measurement("SLEDAI assessment", ("sledai-2k",), "SLE-SLEDAI"),
    Measurement("UPCR", ("34366-5",), "SRNS-MULTIDRUG"),
    Measurement("HBsAg", ("5196-1",), "EXC-HBV"),
    Measurement("anti-HBc", ("16933-4",), "EXC-HBV"),
    Measurement("anti-HCV", ("16128-1",), "EXC-HCV"),
    Measurement("HIV", ("7918-6",), "EXC-HIV"),
    Measurement("syphilis", ("47236-5",), "EXC-SYPHILIS"),
    Measurement("CMV", ("72493-0",), "EXC-CMV"),
    Measurement("pregnancy test", ("2118-8",), "INC-PREGNANCY-TEST", fresh_days=7),
)
ELIGIBLE = {"sle-eligible": "SLE", "srns-eligible": "SRNS"}


def codes_of(resource: dict) -> set[str]:
    codings = resource.get("code", {}).get("coding", [])
    return {c.get("code") for c in codings if isinstance(c, dict)}


def observations_of(bundle: dict, m: Measurement) -> list[dict]:
    return [e["resource"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Observation" and codes_of(e["resource"]) & set(m.codes)]


def without(bundle: dict, m: Measurement) -> dict:
    """``bundle`` with every observation of ``m`` removed."""
    out = copy.deepcopy(bundle)
    out["entry"] = [e for e in out["entry"]
                    if not (e["resource"]["resourceType"] == "Observation" and codes_of(e["resource"]) & set(m.codes))]
    return out


def required_cases() -> list[tuple[str, Measurement]]:
    """(eligible example, measurement) pairs where the example carries the measurement."""
    return [(name, m) for name in ELIGIBLE for m in REQUIRED if observations_of(example(name), m)]


#: Dates no reader can place on a calendar.
INVALID_DATES = (
    "2026-02-30", "2026-13-01", "2026-00-10", "2025-02-29", "2026-3-2", "20260302", "26-03-02",
    "yesterday", "", " ", "-2026-01-01", "2026-01-01T", "10000-01-01", "0000-01-01", "null", "2026-W09",
)
#: Not valid FHIR, though the calendar date can be read (out-of-range time or zone, non-ASCII digits).
INVALID_TIMES = ("2026-02-27T25:61:00Z", "2026-02-27T10:00:00+25:00", "２０２６-０２-２７")
EXTREME_DATES = ("0001-01-01", "9999-12-31", "1900-01-01T00:00:00Z", "2999-12-31")
#: Units no measurement of the protocol can be read in (wrong dimension or not UCUM at all).
UNREADABLE_UNITS = ("furlong", "bananas", "%%", "zz", "mg/dL/s", "kg/s", "")
#: For general corruption: unreadable units and real units on the wrong analyte.
UNKNOWN_UNITS = UNREADABLE_UNITS + ("kg", "mmol/L", "10*3/uL", "[IU]/mL", "U", "g/g")
GARBAGE = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["NaN", "Infinity", "-1", "1e999", "阳性", "positive?", "<5", ">100", "null", "true",
                     "\u200b", "\x00", "' OR 1=1 --", "{}", "[]", "%s%s%s", "\U0001f9ea"]),
)
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False), GARBAGE,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
HUGE = st.one_of(
    st.sampled_from([1e308, -1e308, 1.7976931348623157e308, 2**63, 2**64, 10**30, -(10**30), 5e-324, 1e15]),
    st.floats(min_value=1e9, max_value=1e300),
)


class Lost:
    """An eligible example whose measurement was made unusable ``how``; ``changed`` shows the result.

    Its repr leaves out the bundle, so a falsifying example stays readable.
    """

    def __init__(self, example: str, measurement: Measurement, how: str, changed: list[dict], bundle: dict):
        self.example, self.measurement, self.how, self.changed, self.bundle = example, measurement, how, changed, bundle

    def __repr__(self) -> str:
        return f"Lost({self.example!r}, {self.measurement.name!r}, {self.how!r}, changed={self.changed!r})"


@st.composite
def lost_measurements(draw: st.DrawFn) -> Lost:
    """An eligible example with one required measurement made unusable in one way.

    Each way leaves no fresh, readable, plausible value of the measurement: the
    resource deleted, stale or dated after screening, cancelled, undated, or its
    value / unit / reference range unreadable, impossible or of an unknown unit.
    """
    name, m = draw(st.sampled_from(required_cases()))
    bundle = example(name)
    obs = observations_of(bundle, m)
    ways = ["delete", "stale", "future", "status", "no-date", "bad-date"]
    if any("valueQuantity" in o for o in obs):
        ways += ["qty-value-garbage", "qty-value-deleted", "qty-negative", "qty-huge", "qty-unknown-unit",
                 "qty-no-unit"]
    if any("referenceRange" in o for o in obs):
        ways += ["uln-deleted", "uln-garbage", "uln-nonpositive"]
    if any("valueCodeableConcept" in o for o in obs):
        ways += ["concept-garbage", "concept-deleted", "concept-empty"]
    if any("valueInteger" in o for o in obs):
        ways += ["int-garbage", "int-negative", "int-huge", "int-deleted"]
    how = draw(st.sampled_from(ways))
    if how == "delete":
        return Lost(name, m, how, [], without(bundle, m))
    for o in obs:
        if how == "stale":
            o["effectiveDateTime"] = _days_before(draw(st.integers(m.fresh_days + 1, 20 * 365)))
        elif how == "future":
            o["effectiveDateTime"] = _days_before(-draw(st.integers(1, 5 * 365)))
        elif how == "status":
            o["status"] = draw(st.sampled_from(["entered-in-error", "cancelled"]))
        elif how == "no-date":
            for key in ("effectiveDateTime", "effectivePeriod", "issued"):
                o.pop(key, None)
        elif how == "bad-date":
            o["effectiveDateTime"] = draw(st.sampled_from(INVALID_DATES))
        elif how.startswith("qty-") and "valueQuantity" in o:
            q = o["valueQuantity"]
            if how == "qty-value-garbage":
                q["value"] = draw(st.one_of(GARBAGE, st.booleans(), st.lists(st.integers(), max_size=2)))
            elif how == "qty-value-deleted":
                del q["value"]
            elif how == "qty-negative":
                q["value"] = -abs(q["value"]) - draw(st.floats(min_value=1e-6, max_value=1e6))
            elif how == "qty-huge":
                q["value"] = draw(HUGE.filter(lambda v: v >= 1e9))
            elif how == "qty-unknown-unit":
                unit = draw(st.sampled_from(UNREADABLE_UNITS))
                q["unit"] = q["code"] = unit
            elif how == "qty-no-unit":
                for key in ("unit", "code", "system"):
                    q.pop(key, None)
        elif how.startswith("uln-") and "referenceRange" in o:
            high = o["referenceRange"][0]["high"]
            if how == "uln-deleted":
                del o["referenceRange"]
            elif how == "uln-garbage":
                high["value"] = draw(GARBAGE)
            else:
                high["value"] = draw(st.sampled_from([0, -40, -1e-9, 0.0]))
        elif how.startswith("concept-") and "valueCodeableConcept" in o:
            if how == "concept-garbage":
                for c in o["valueCodeableConcept"]["coding"]:
                    c["code"] = draw(GARBAGE)
                    c.pop("display", None)
            elif how == "concept-deleted":
                del o["valueCodeableConcept"]
            else:
                o["valueCodeableConcept"] = {"coding": []}
        elif how.startswith("int-") and "valueInteger" in o:
            if how == "int-garbage":
                o["valueInteger"] = draw(GARBAGE)
            elif how == "int-negative":
                o["valueInteger"] = -draw(st.integers(1, 10**6))
            elif how == "int-huge":
                o["valueInteger"] = draw(st.integers(101, 2**62))
            else:
                del o["valueInteger"]
    return Lost(name, m, how, obs, bundle)


def _days_before(n: int) -> str:
    return (AS_OF - timedelta(days=n)).isoformat()


# -- Corrupted bundles ---------------------------------------------------------------

_DATE_KEYS = {"birthDate", "effectiveDateTime", "onsetDateTime", "abatementDateTime", "occurrenceDateTime",
              "performedDateTime", "recordedDate", "authoredOn", "issued", "dateTime", "start", "end"}


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) in the JSON tree, depth first."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        out.append((node, key))
        _slots(value, out)
    return out


def _pick(draw: st.DrawFn, bundle: dict, where=lambda c, k: True) -> tuple[Any, Any] | None:
    """A slot satisfying ``where``: mostly inside a resource, now and then in the envelope."""
    inside = draw(st.sampled_from([True] * 9 + [False]))
    roots = _resources(bundle) if inside else [bundle]
    slots = [s for root in roots for s in _slots(root, []) if where(*s)]
    return draw(st.sampled_from(slots)) if slots else None


def _resources(bundle: dict) -> list[dict]:
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return []
    return [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def _delete_key(draw, bundle):
    slot = _pick(draw, bundle)
    if slot:
        container, key = slot
        del container[key]


def _swap_type(draw, bundle):
    slot = _pick(draw, bundle)
    if slot:
        container, key = slot
        old = container[key]
        container[key] = draw(JSON_VALUES.filter(lambda v: type(v) is not type(old)))


def _garbage_string(draw, bundle):
    slot = _pick(draw, bundle, lambda c, k: not isinstance(c[k], (dict, list)))
    if slot:
        container, key = slot
        container[key] = draw(GARBAGE)


def _invalid_date(draw, bundle):
    slot = _pick(draw, bundle, lambda c, k: isinstance(c, dict) and k in _DATE_KEYS)
    if slot:
        container, key = slot
        container[key] = draw(st.sampled_from(INVALID_DATES + INVALID_TIMES + EXTREME_DATES))


def _numbers(c, k) -> bool:
    return isinstance(c[k], (int, float)) and not isinstance(c[k], bool)


def _huge_number(draw, bundle):
    slot = _pick(draw, bundle, _numbers)
    if slot:
        container, key = slot
        container[key] = draw(HUGE)


def _negative(draw, bundle):
    slot = _pick(draw, bundle, _numbers)
    if slot:
        container, key = slot
        container[key] = -abs(container[key]) - draw(st.sampled_from([0, 1, 1e-9, 1000]))


def _unknown_unit(draw, bundle):
    slot = _pick(draw, bundle, lambda c, k: isinstance(c, dict) and k in ("unit", "code")
                 and isinstance(c.get("value"), (int, float)))
    if slot:
        container, _ = slot
        unit = draw(st.sampled_from(UNKNOWN_UNITS))
        container["unit"] = unit
        if draw(st.booleans()):
            container["code"] = unit


def _duplicate_id(draw, bundle):
    resources = [r for r in _resources(bundle) if r.get("resourceType") != "Patient"]
    if len(resources) < 2:
        return
    a, b = draw(st.permutations(resources))[:2]
    if draw(st.booleans()):
        b["id"] = a.get("id")
        b["resourceType"] = a.get("resourceType")
    else:
        bundle["entry"].append({"resource": copy.deepcopy(a)})


def _unknown_resource_type(draw, bundle):
    name = draw(st.one_of(st.sampled_from(["FooBar", "Observationn", "observation", "Basic", "Encounter",
                                           "Bundle", "Medication", "DiagnosticReport"]),
                          st.from_regex(r"[A-Z][A-Za-z]{0,15}", fullmatch=True)))
    resources = [r for r in _resources(bundle) if r.get("resourceType") != "Patient"]
    if resources and draw(st.booleans()):
        draw(st.sampled_from(resources))["resourceType"] = name
    elif isinstance(bundle.get("entry"), list):
        body = draw(st.dictionaries(st.text(max_size=8), JSON_SCALARS, max_size=4))
        bundle["entry"].insert(draw(st.integers(0, len(bundle["entry"]))),
                               {"resource": {**body, "resourceType": name, "id": "x"}})


def _deep_nesting(draw, bundle):
    slot = _pick(draw, bundle)
    if slot:
        container, key = slot
        value: Any = draw(JSON_SCALARS)
        for _ in range(draw(st.integers(1, 200))):
            value = [value] if draw(st.booleans()) else {"x": value}
        container[key] = value


MUTATIONS = {
    "delete-key": _delete_key,
    "swap-type": _swap_type,
    "garbage-string": _garbage_string,
    "invalid-date": _invalid_date,
    "huge-number": _huge_number,
    "negative": _negative,
    "unknown-unit": _unknown_unit,
    "duplicate-id": _duplicate_id,
    "unknown-resource-type": _unknown_resource_type,
    "deep-nesting": _deep_nesting,
}
EXAMPLE_NAMES = tuple(sorted(p.stem for p in EXAMPLES.glob("*.json")))


@st.composite
def corrupted_bundles(draw: st.DrawFn, max_mutations: int = 4) -> tuple[bytes, list[str]]:
    """(bytes, the mutations applied): an example bundle with 1..max_mutations random corruptions.

    Nesting stays below 250 levels here; deeper documents have their own test.
    """
    bundle = example(draw(st.sampled_from(EXAMPLE_NAMES)))
    applied = []
    for _ in range(draw(st.integers(1, max_mutations))):
        name = draw(st.sampled_from(sorted(MUTATIONS)))
        MUTATIONS[name](draw, bundle)
        applied.append(name)
    data = json.dumps(bundle, ensure_ascii=draw(st.booleans())).encode("utf-8")
    if draw(st.sampled_from([False] * 19 + [True])):  # now and then, damage the bytes themselves
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.sampled_from([b"", b"\xff\xfe", b"}", b"\x00", b"garbage"]))
        applied.append("bytes")
    return data, applied


# -- Hostile input: the evidence of the wrong JSON type, huge strings, not a bundle at all ----------

#: Fields of an Observation that carry the evidence, and wrong JSON types to put there (not
#: ``subject``: a bundle holds one patient, and the reader does not read it).
EVIDENCE_FIELDS = ("valueQuantity", "valueCodeableConcept", "valueInteger", "code", "effectiveDateTime",
                   "status", "referenceRange", "component")
WRONG_TYPES = st.one_of(
    JSON_SCALARS, st.lists(JSON_SCALARS, max_size=3),
    st.dictionaries(st.sampled_from(["value", "coding", "unit", "x", "start"]), JSON_SCALARS, max_size=2))


def huge_strings() -> st.SearchStrategy[str]:
    return st.builds(lambda piece, n: piece * n, st.sampled_from(["A", "é", "<script>", "\u202e", "1"]),
                     st.integers(10_000, 300_000))


@st.composite
def malformed_evidence(draw: st.DrawFn) -> tuple[str, str, list[str], dict, str]:
    """(example, criterion, ids, bundle, how): every observation of one required measurement of an
    eligible example has one evidence field replaced by a value of the wrong JSON type."""
    name, m = draw(st.sampled_from(required_cases()))
    bundle = example(name)
    obs = observations_of(bundle, m)
    present = sorted({f for o in obs for f in EVIDENCE_FIELDS if f in o})
    field = draw(st.sampled_from(present))
    wrong = draw(WRONG_TYPES.filter(lambda v: not isinstance(v, type(obs[0].get(field)))))
    for o in obs:
        if field in o:
            o[field] = copy.deepcopy(wrong)
    return name, m.criterion, [o["id"] for o in obs], bundle, f"{field}={wrong!r}"[:200]


#: Bytes that are no FHIR bundle: random bytes, any JSON, objects with bundle-like keys.
NOT_BUNDLES = st.one_of(
    st.binary(max_size=200),
    st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                 max_leaves=10).map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["resourceType", "type", "entry", "id"]),
                    st.one_of(JSON_SCALARS, st.just("Bundle"), st.lists(JSON_SCALARS, max_size=2)),
                    max_size=4).map(lambda v: json.dumps(v).encode()),
)
