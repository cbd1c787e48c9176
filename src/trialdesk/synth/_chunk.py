"""One chunk of persons under construction: people, facets, and vectorised row emitters.

Every emitter takes an array ``who`` of person positions in the chunk and arrays (or
scalars) of the same length, so a block of the generator writes all its rows for all
the persons it concerns in one call. Emitters keep two invariants of the output:
nothing is dated before the person's birth, and nothing after ``as_of`` unless the row
is deliberately future-dated (``future=True``). :meth:`Chunk.finish` drops a second
result of the same measure on the same date (the first emitted wins, so scenario
blocks, emitted first, win over background rows), sorts every table by person and
date, and numbers the rows.
"""

from __future__ import annotations

import numpy as np

from trialdesk.synth import _catalogue as cat
from trialdesk.synth._mix import COMPLETENESS, FACET_INDEX, FACETS, GROUP_INDEX, GROUPS
from trialdesk.synth._population import NONE, SEQUENCES, TABLES, Population

_MEASURE_OF = np.array(cat.MEASURE_OF, dtype=np.int16)
_HAS_CN = np.array([bool(c.cn) for c in cat.CONCEPTS])
_BASE_UNIT = np.array([cat.UNIT[c.unit] if c.unit else -1 for c in cat.CONCEPTS], dtype=np.int8)


# -- vectorised calendar ---------------------------------------------------------------------------

def add_months(days: np.ndarray | int, months: np.ndarray | int) -> np.ndarray:
    """Days shifted by whole calendar months, clamped to the month's end (engine.dates.add_months)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    target = m + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return (target.astype("datetime64[D]") + np.minimum(dom, length - 1)).astype(np.int64)


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (y.astype(np.int64) + 1970, (m - y.astype("datetime64[M]")).astype(np.int64) + 1,
            (d - m.astype("datetime64[D]")).astype(np.int64) + 1)


def completed_years(birth: np.ndarray, on: int) -> np.ndarray:
    by, bm, bd = ymd(birth)
    oy, om, od = ymd(np.array([on]))
    return oy[0] - by - ((om[0] * 100 + od[0]) < (bm * 100 + bd)).astype(np.int64)


def quota(rng: np.random.Generator, n: int, shares: list[float]) -> np.ndarray:
    """``n`` labels following ``shares`` exactly up to rounding (largest remainder), shuffled."""
    exact = np.asarray(shares, dtype=float) / sum(shares) * n
    counts = np.floor(exact).astype(np.int64)
    short = n - counts.sum()
    if short:
        counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


class Chunk:
    """Persons ``first_id .. first_id + n - 1`` and the rows generated for them."""

    def __init__(self, seed: int, chunk_no: int, first_id: int, n: int, as_of_day: int) -> None:
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, chunk_no, 20260302]))
        self.seed, self.n, self.A = seed, n, int(as_of_day)
        self.person_id = first_id + np.arange(n, dtype=np.int64)
        self.group = quota(self.rng, n, [g.share for g in GROUPS]).astype(np.int8)
        self.completeness = np.full(n, -1, np.int8)
        self.facets = {f.name: np.full(n, -1, np.int8) for f in FACETS}
        self.gender = np.zeros(n, np.int8)
        self.birth = np.zeros(n, np.int64)
        self.birth_precision = np.zeros(n, np.int8)
        self.cap = np.full(n, self.A, np.int64)  # latest date of background rows
        self.bg = np.ones(n, bool)  # has a background history (not: diagnosis-only patients)
        self.build = np.clip(self.rng.normal(1, 0.13, n), 0.7, 1.5)  # body build: weight factor
        self.tall = np.clip(self.rng.normal(1, 0.04, n), 0.88, 1.12)  # height factor
        self._rows: dict[str, list[dict[str, np.ndarray]]] = {t: [] for t in TABLES if t != "persons"}
        self._assessments = 0  # local index of the next assessment row

    # -- people --------------------------------------------------------------------------------

    def is_group(self, *names: str) -> np.ndarray:
        return np.isin(self.group, [GROUP_INDEX[g] for g in names])

    def is_completeness(self, *names: str) -> np.ndarray:
        return np.isin(self.completeness, [k for k, c in enumerate(COMPLETENESS) if c[0] in names])

    def draw(self, facet: str, mask: np.ndarray) -> np.ndarray:
        """Draw ``facet`` for the persons in ``mask``; returns the facet column (-1 elsewhere)."""
        f = FACETS[FACET_INDEX[facet]]
        col = self.facets[facet]
        k = int(mask.sum())
        if k:
            col[mask] = self.rng.choice(len(f.options), size=k, p=[o[1] for o in f.options])
        return col

    def where(self, facet: str, *options: str, mask: np.ndarray | None = None) -> np.ndarray:
        """Positions of the persons whose ``facet`` is one of ``options``."""
        f = FACETS[FACET_INDEX[facet]]
        names = [o[0] for o in f.options]
        hit = np.isin(self.facets[facet], [names.index(o) for o in options])
        if mask is not None:
            hit &= mask
        return np.flatnonzero(hit)

    @property
    def age(self) -> np.ndarray:
        return completed_years(self.birth, self.A)

    def weight_at(self, who: np.ndarray, day) -> np.ndarray:
        """Body weight in kg (1 decimal) of ``who`` on ``day``: growth curve for children, by sex for adults."""
        a = np.clip((np.asarray(day) - self.birth[who]) / 365.25, 0, None)
        child = 3.5 + 2.3 * np.minimum(a, 18) + 0.06 * np.minimum(a, 18) ** 2
        adult = np.where(self.gender[who] == 1, 78.0, 64.0)
        return np.round(np.maximum(np.where(a < 18, child, adult) * self.build[who], 2.5), 1)

    def height_at(self, who: np.ndarray, day) -> np.ndarray:
        """Body height in cm (1 decimal) of ``who`` on ``day``."""
        a = np.clip((np.asarray(day) - self.birth[who]) / 365.25, 0, None)
        child = np.where(a < 1, 50 + 25 * a, 75 + 6 * np.minimum(a, 17))
        adult = np.where(self.gender[who] == 1, 176.0, 163.0)
        return np.round(np.where(a < 17, child, np.maximum(child, adult)) * self.tall[who], 1)

    # -- random helpers -------------------------------------------------------------------------

    def uniform(self, low, high, size: int) -> np.ndarray:
        return self.rng.uniform(low, high, size)

    def days(self, low, high, size: int) -> np.ndarray:
        """Whole numbers of days in [low, high] (bounds may be arrays)."""
        low = np.broadcast_to(np.asarray(low, dtype=np.int64), (size,))
        high = np.broadcast_to(np.asarray(high, dtype=np.int64), (size,))
        return low + np.floor(self.rng.random(size) * (np.maximum(high - low, 0) + 1)).astype(np.int64)

    def pick(self, options, size: int, p=None) -> np.ndarray:
        return np.asarray(options)[self.rng.choice(len(options), size=size, p=p)]

    def chance(self, p: float, size: int) -> np.ndarray:
        return self.rng.random(size) < p

    # -- emitters --------------------------------------------------------------------------------

    def _clamp(self, who: np.ndarray, day, future: bool = False) -> np.ndarray:
        day = np.maximum(np.broadcast_to(np.asarray(day, dtype=np.int64), who.shape), self.birth[who])
        return day if future else np.minimum(day, self.A)

    def _add(self, table: str, who: np.ndarray, **cols) -> None:
        if len(who) == 0:
            return
        row = {"person_id": self.person_id[who]}
        for name, dtype in TABLES[table].items():
            if name in ("person_id", "row_id"):
                continue
            row[name] = np.broadcast_to(np.asarray(cols[name]), who.shape).astype(dtype)
        self._rows[table].append(row)

    def meas(self, who, code, day, value=np.nan, unit=None, high=np.nan, vconcept=-1, future=False) -> None:
        """Measurements; ``code``/``vconcept`` are catalogue keys or index arrays, ``unit`` a UCUM code or
        index array (default: the code's own unit)."""
        who = np.asarray(who, dtype=np.int64)
        code = cat.INDEX[code] if isinstance(code, str) else code
        if unit is None:
            unit = _BASE_UNIT[code]
        elif isinstance(unit, str):
            unit = cat.UNIT[unit]
        vconcept = cat.INDEX[vconcept] if isinstance(vconcept, str) else vconcept
        value = np.round(np.asarray(value, dtype=float), 3)
        high = np.round(np.asarray(high, dtype=float), 3)
        self._add("measurements", who, code=code, day=self._clamp(who, day, future), value=value, unit=unit,
                  high=high, vconcept=vconcept)

    def qual(self, who, code, positive, day, detected: bool = False) -> None:
        """Qualitative results: SNOMED positive/negative (or detected/not detected)."""
        pos, neg = ("detected", "not_detected") if detected else ("positive", "negative")
        v = np.where(np.asarray(positive, dtype=bool), cat.INDEX[pos], cat.INDEX[neg])
        self.meas(who, code, day, unit=-1, vconcept=np.broadcast_to(v, np.shape(who)))

    def cond(self, who, code, onset, abatement=None, future=False) -> None:
        """Conditions; ``abatement`` None (or NONE entries) = active and open, else resolved on that day."""
        who = np.asarray(who, dtype=np.int64)
        code = cat.INDEX[code] if isinstance(code, str) else code
        onset = self._clamp(who, onset, future)
        if abatement is None:
            ab = np.full(who.shape, NONE, np.int64)
        else:
            raw = np.broadcast_to(np.asarray(abatement, dtype=np.int64), who.shape)
            ab = np.where(raw == NONE, NONE, np.maximum(self._clamp(who, raw, future), onset))
        self._add("conditions", who, code=code, onset=onset, abatement=ab, active=ab == NONE)

    def proc(self, who, code, day) -> None:
        who = np.asarray(who, dtype=np.int64)
        self._add("procedures", who, code=cat.INDEX[code] if isinstance(code, str) else code,
                  day=self._clamp(who, day))

    def drug(self, who, code, start, end=None, mg=np.nan, cn=None) -> None:
        """Drug exposures; ``end`` None = ongoing; ``mg`` = mg/day (NaN: no dose); ``cn``: Chinese text."""
        who = np.asarray(who, dtype=np.int64)
        code = cat.INDEX[code] if isinstance(code, str) else code
        start = self._clamp(who, start)
        if end is None:
            end = np.full(who.shape, NONE, np.int64)
        else:
            raw = np.broadcast_to(np.asarray(end, dtype=np.int64), who.shape)
            end = np.where(raw == NONE, NONE, np.maximum(self._clamp(who, raw), start))
        if cn is None:
            cn = _HAS_CN[np.broadcast_to(code, who.shape)] & self.chance(0.1, len(who))
        mg = np.round(np.asarray(mg, dtype=float), 3)
        self._add("drugs", who, code=code, start=start, end=end, mg=mg, cn=cn)

    def vaccine(self, who, code, day) -> None:
        who = np.asarray(who, dtype=np.int64)
        self._add("immunizations", who, code=cat.INDEX[code] if isinstance(code, str) else code,
                  day=self._clamp(who, day))

    def allergy(self, who, code, day, type_="allergy", criticality=-1, severity=-1, manifestation=None) -> None:
        """An AllergyIntolerance; a reaction's manifestation is also recorded as a resolved condition
        on the same day (both formats: docs/omop-mapping.md records anaphylaxis so)."""
        who = np.asarray(who, dtype=np.int64)
        code = cat.INDEX[code] if isinstance(code, str) else code
        day = self._clamp(who, day)
        man = -1 if manifestation is None else cat.INDEX[manifestation]
        self._add("allergies", who, code=code, type=cat.ALLERGY_TYPES.index(type_), criticality=criticality,
                  severity=severity, manifestation=man, day=day)
        if manifestation is not None:
            self.cond(who, manifestation, day, day)

    def attest(self, who, code: str, day, value=True) -> None:
        who = np.asarray(who, dtype=np.int64)
        self._add("attestations", who, code=cat.INDEX[f"att_{code}"], day=self._clamp(who, day), value=value,
                  provider=self.rng.integers(0, len(cat.INVESTIGATORS), len(who)))

    def consent(self, who, day) -> None:
        who = np.asarray(who, dtype=np.int64)
        self._add("consents", who, day=self._clamp(who, day))

    def study(self, who, study: str, start, end=None) -> None:
        who = np.asarray(who, dtype=np.int64)
        start = self._clamp(who, start)
        end = np.full(who.shape, NONE, np.int64) if end is None else np.maximum(self._clamp(who, end), start)
        self._add("studies", who, study=cat.STUDIES.index(study), start=start, end=end)

    def assess(self, who, code: str, day, value=np.nan, unit: str | None = None,
               items: list[tuple[str, np.ndarray | bool]] = ()) -> None:
        """An assessment row and its components: ``items`` are (component key, value per person)."""
        who = np.asarray(who, dtype=np.int64)
        if len(who) == 0:
            return
        local = self._assessments + np.arange(len(who))
        self._assessments += len(who)
        self._add("assessments", who, code=cat.INDEX[code], day=self._clamp(who, day),
                  value=np.round(np.asarray(value, dtype=float), 3), unit=-1 if unit is None else cat.UNIT[unit])
        self._rows["assessments"][-1]["local"] = local
        for key, val in items:
            self._add("components", who, assessment_id=local, code=cat.INDEX[key], value=val)

    # -- finishing --------------------------------------------------------------------------------

    def finish(self, counters: dict[str, int], as_of) -> Population:
        """Dedupe, sort and number the rows; ``counters`` (next id per OMOP table) is advanced."""
        tables: dict[str, dict[str, np.ndarray]] = {}
        for name, parts in self._rows.items():
            cols = {c: np.concatenate([p[c] for p in parts]) if parts else np.empty(0, TABLES[name][c])
                    for c in TABLES[name] if c != "row_id"}
            if name == "assessments":
                cols["local"] = np.concatenate([p["local"] for p in parts]) if parts else np.empty(0, np.int64)
            tables[name] = cols
        self._dedupe(tables["measurements"], _MEASURE_OF[tables["measurements"]["code"]], "day")
        dropped = self._dedupe(tables["assessments"], tables["assessments"]["code"], "day")
        comps = tables["components"]
        keep = ~np.isin(comps["assessment_id"], dropped)
        tables["components"] = {c: v[keep] for c, v in comps.items()}
        self._dedupe(tables["attestations"], tables["attestations"]["code"], "day")
        for name, cols in tables.items():
            when = cols.get("day", cols.get("onset", cols.get("start")))
            order = np.lexsort((np.arange(len(cols["person_id"])),) + ((when,) if when is not None else ())
                               + (cols["person_id"],))
            tables[name] = {c: v[order] for c, v in cols.items()}
        for seq, names in SEQUENCES.items():
            for name in names:
                cols = tables[name]
                cols["row_id"] = counters[seq] + np.arange(len(cols["person_id"]), dtype=np.int64)
                counters[seq] += len(cols["person_id"])
                if name == "assessments":
                    new_id = np.full(self._assessments, -1, np.int64)
                    new_id[cols["local"]] = cols["row_id"]
                    comps = tables["components"]
                    comps["assessment_id"] = new_id[comps["assessment_id"]]
                    order = np.argsort(comps["assessment_id"], kind="stable")
                    tables["components"] = {c: v[order] for c, v in comps.items()}
        del tables["assessments"]["local"]
        persons = {"person_id": self.person_id, "gender": self.gender, "birth": self.birth.astype(np.int32),
                   "birth_precision": self.birth_precision, "group": self.group, "completeness": self.completeness,
                   **{f"f_{k}": v for k, v in self.facets.items()}}
        tables = {"persons": persons, **{n: {c: cols[c] for c in TABLES[n]} for n, cols in tables.items()}}
        return Population(self.seed, as_of, tables)

    @staticmethod
    def _dedupe(cols: dict[str, np.ndarray], key: np.ndarray, day: str) -> np.ndarray:
        """Keep the first row of each (person, key, day); returns the dropped rows' ``local`` ids, if any."""
        n = len(cols["person_id"])
        if n == 0:
            return np.empty(0, np.int64)
        order = np.lexsort((np.arange(n), cols[day], key, cols["person_id"]))
        p, k, d = cols["person_id"][order], key[order], cols[day][order]
        first = np.ones(n, bool)
        first[1:] = (p[1:] != p[:-1]) | (k[1:] != k[:-1]) | (d[1:] != d[:-1])
        keep = np.zeros(n, bool)
        keep[order[first]] = True
        dropped = cols["local"][~keep] if "local" in cols else np.empty(0, np.int64)
        for c in list(cols):
            cols[c] = cols[c][keep]
        return dropped
