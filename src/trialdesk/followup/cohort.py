"""Cohort tables: remission rates with Wilson 95 % confidence intervals, and worst toxicity.

For each cohort and binary endpoint at one visit: ``n`` subjects, how many
were evaluable, how many met it, the rate among the evaluable with its Wilson
score interval, and the rate over all ``n`` counting a subject not evaluable
(or not yet at the visit) as not meeting it (non-responder imputation).

Wilson score interval (Wilson EB. Probable inference, the law of succession,
and statistical inference. J Am Stat Assoc 1927;22:209-212):

    centre    = (p + z^2 / 2n) / (1 + z^2 / n)
    half-width = z sqrt(p(1-p)/n + z^2 / 4n^2) / (1 + z^2 / n),  z = 1.959964 (95 %)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trialdesk.followup.evaluate import SubjectReport
from trialdesk.followup.outcome import MET, NOT_MET

Z95 = 1.959963984540054  # the 0.975 quantile of the standard normal distribution
#: binary endpoints reported per cohort, in table order; "lldas/clldas" is LLDAS for adults and
#: cLLDAS for children, whichever the subject's age at the visit calls for
RATE_ENDPOINTS = {
    "SLE": ("sri-4", "lldas/clldas", "doris-remission", "drug-free-remission", "cd19-depleted",
            "hypogammaglobulinaemia"),
    "SRNS": ("ipna-complete-remission", "ipna-remission", "ipna-relapse", "cd19-depleted", "hypogammaglobulinaemia"),
}
GRADED = ("worst-crs", "worst-icans", "worst-cytopenia", "worst-lab-toxicity")


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` out of ``n`` (``n`` > 0).

    Example:
        >>> [round(x, 4) for x in wilson(2, 3)]
        [0.2077, 0.9385]
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0; got {successes}/{n}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class RateRow:
    cohort: str
    endpoint: str
    visit: str
    n: int
    evaluable: int
    met: int
    rate: float | None
    ci: tuple[float, float] | None

    @property
    def rate_all(self) -> float | None:
        """Met over all ``n`` (not evaluable counted as not met)."""
        return self.met / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class ToxicityRow:
    cohort: str
    endpoint: str
    n: int
    evaluable: int
    by_grade: dict[int, int]  # worst grade -> subjects

    def at_least(self, grade: int) -> int:
        return sum(count for g, count in self.by_grade.items() if g >= grade)


def rate_table(reports: list[SubjectReport], visit: str) -> list[RateRow]:
    """One row per cohort and binary endpoint at ``visit`` (cohorts with subjects only)."""
    rows = []
    for cohort, endpoints in RATE_ENDPOINTS.items():
        group = [r for r in reports if r.subject.cohort == cohort]
        if not group:
            continue
        for endpoint in endpoints:
            names = endpoint.split("/")
            outcomes = [o for r in group if (v := r.at(visit)) for o in v.outcomes if o.endpoint in names]
            judged = [o for o in outcomes if o.status in (MET, NOT_MET)]
            met = sum(o.status == MET for o in judged)
            rows.append(RateRow(cohort, endpoint, visit, len(group), len(judged), met,
                                met / len(judged) if judged else None, wilson(met, len(judged)) if judged else None))
    return rows


def toxicity_table(reports: list[SubjectReport]) -> list[ToxicityRow]:
    """Distribution of each subject's worst CRS, ICANS, cytopenia and laboratory toxicity grade, per cohort."""
    rows = []
    for cohort in sorted({r.subject.cohort for r in reports}):
        group = [r for r in reports if r.subject.cohort == cohort]
        for endpoint in GRADED:
            values = [o.value for r in group if (o := r.summary_of(endpoint)).value is not None]
            by_grade: dict[int, int] = {}
            for v in values:
                by_grade[int(v)] = by_grade.get(int(v), 0) + 1
            rows.append(ToxicityRow(cohort, endpoint, len(group), len(values), dict(sorted(by_grade.items()))))
    return rows
