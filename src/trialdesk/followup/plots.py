"""Figures: one subject's timeline, and a swimmer plot of all subjects (SVG or PNG, by suffix).

The x axis is days from the infusion (day 0); the DLT window (days 0 to
``dlt_window_days``) is shaded. Values are the recorded ones; a missing value
is a gap, never a zero.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from trialdesk.followup.evaluate import SubjectReport
from trialdesk.followup.outcome import MET
from trialdesk.followup.records import LAB_TESTS
from trialdesk.followup.safety import lab_grades
from trialdesk.followup.sle import sledai
from trialdesk.followup.treatment import steroid_dose
from trialdesk.population.prescreen import atomic_write

GRADE_COLOURS = {0: "#9e9e9e", 1: "#f6c343", 2: "#f0883e", 3: "#d9534f", 4: "#8b1e3f", 5: "#000000"}
#: per cohort, the endpoint a swimmer plot marks as remission (first visit met)
REMISSION = {"SLE": "doris-remission", "SRNS": "ipna-complete-remission"}


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path, tight: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Write the figure atomically; ``tight`` grows the canvas to take in a legend outside the axes."""
    atomic_write(out, lambda tmp: fig.savefig(tmp, format=out.suffix.lstrip("."), metadata=_metadata(out),
                                              bbox_inches="tight" if tight else None))


def _metadata(out: Path) -> dict[str, None]:
    """No creation date in SVG/PNG metadata, so the same data draw the same file."""
    return {"Date": None} if out.suffix == ".svg" else {"Software": None}


def _lab_series(report: SubjectReport, test: str) -> tuple[list[int], list[float]]:
    s = report.subject
    points = sorted((s.study_day(x.day), x.value) for x in s.labs if x.test == test)
    return [d for d, _ in points], [v for _, v in points]


def _daily_steroid(report: SubjectReport) -> list[tuple[int, float]]:
    """The prednisone-equivalent dose on every day from the first to the last visit, from the
    medication periods: a taper between two visits shows on the day it happened, not at the next visit."""
    if not report.visits:
        return []
    subject, first, last = report.subject, report.visits[0].day, report.visits[-1].day
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [(subject.study_day(d), dose.mg) for d in days if (dose := steroid_dose(subject, d)).mg is not None]


def draw_timeline(report: SubjectReport, out: Path, dlt_window_days: int, cd19_below: float, igg_severe: float) -> None:
    """Disease activity, UPCR, CD19, IgG and steroid dose over time, with CRS/ICANS and adverse events."""
    plt = _pyplot()
    s = report.subject
    panels: list[tuple[str, Callable]] = []  # (y label, draw on an axis)
    if s.cohort == "SLE":
        points = sorted((s.study_day(a.day), sledai(a)) for a in s.assessments if a.sledai is not None)
        panels.append(("SLEDAI-2K", lambda ax: ax.plot([d for d, _ in points], [v for _, v in points], "o-",
                                                       color="#6a3d9a")))
    days, values = _lab_series(report, "upcr")
    panels.append(("UPCR (g/g)", lambda ax: (ax.plot(days, values, "o-", color="#1f78b4"),
                                            ax.axhline(0.2, ls=":", color="#4c9a2a", lw=1),
                                            ax.axhline(2.0, ls=":", color="#d9534f", lw=1))))
    cd_days, cd_values = _lab_series(report, "cd19")
    panels.append(("CD19+ (/uL)", lambda ax: (ax.plot(cd_days, cd_values, "o-", color="#33a02c"),
                                              ax.axhline(cd19_below, ls=":", color="k", lw=1),
                                              ax.set_yscale("symlog", linthresh=10), ax.set_ylim(bottom=0))))
    ig_days, ig_values = _lab_series(report, "igg")
    panels.append(("IgG (g/L)", lambda ax: (ax.plot(ig_days, ig_values, "o-", color="#b15928"),
                                            ax.axhline(igg_severe, ls=":", color="#d9534f", lw=1))))
    doses = [(v.study_day, o.value) for v in report.visits if (o := v.get("steroid-dose")) and o.value is not None]
    daily = _daily_steroid(report)
    panels.append(("prednisone-eq. (mg/day)",
                   lambda ax: (ax.step([d for d, _ in daily], [v for _, v in daily], "-", where="post", color="#e31a1c"),
                               ax.plot([d for d, _ in doses], [v for _, v in doses], "o", color="#e31a1c"),
                               ax.set_ylim(bottom=0))))
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(9, 1.6 * (len(panels) + 1) + 0.6), sharex=True)
    _events(axes[0], report)
    for ax, (label, draw) in zip(axes[1:], panels):
        draw(ax)
        ax.set_ylabel(label, fontsize=8)
        if not ax.lines or not any(len(line.get_xdata()) for line in ax.lines):
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#888")
    for ax in axes:
        ax.axvspan(0, dlt_window_days, color="#fde0dd", alpha=0.4, lw=0)
        ax.axvline(0, color="k", lw=0.8)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("days from CAR-NK infusion (shaded: DLT window)")
    axes[0].set_title(f"{s.id} ({s.cohort}), infusion {s.infusion}", fontsize=10)
    fig.tight_layout()
    _save(fig, out)
    plt.close(fig)


def _events(ax, report: SubjectReport) -> None:  # type: ignore[no-untyped-def]
    """CRS and ICANS grades per assessment day, CTCAE grades of lab results, adverse events as bars."""
    s = report.subject
    rows = {"CRS": 3, "ICANS": 2, "lab (CTCAE)": 1, "AE": 0}
    for g in s.graded:
        y = rows[g.kind.upper()]  # CRS or ICANS
        ax.scatter(s.study_day(g.day), y, color=GRADE_COLOURS[g.grade], s=30, zorder=3, edgecolor="k", lw=0.3)
        if g.grade:
            ax.annotate(f"G{g.grade}", (s.study_day(g.day), y), textcoords="offset points", xytext=(0, 5),
                        ha="center", fontsize=6)
    by_day: dict[int, list[tuple[int, str]]] = {}
    for g in lab_grades(s):
        if g.grade:
            by_day.setdefault(s.study_day(g.lab.day), []).append((g.grade, LAB_TESTS[g.lab.test].sdtm))
    for x, graded in by_day.items():  # one marker per day, coloured by the worst grade
        graded.sort(reverse=True)
        ax.scatter(x, 1, color=GRADE_COLOURS[graded[0][0]], s=30, zorder=3, edgecolor="k", lw=0.3)
        ax.annotate(", ".join(f"{code} G{grade}" for grade, code in graded), (x, 1), textcoords="offset points",
                    xytext=(0, 5), ha="center", fontsize=6)
    last = max([d for _, d in s.visit_dates()] + [s.infusion])
    for i, a in enumerate(sorted(s.adverse_events, key=lambda a: a.onset)):
        start, end = s.study_day(a.onset), s.study_day(a.resolved or last)
        ax.plot([start, max(end, start + 0.5)], [0, 0], color=GRADE_COLOURS[a.grade], lw=6, solid_capstyle="butt")
        ax.annotate(f"{a.term} G{a.grade}", (start, 0), textcoords="offset points", xytext=(0, -9 - 8 * (i % 3)),
                    fontsize=6)
    ax.set_yticks(list(rows.values()), list(rows))
    ax.set_ylim(-1.4, 3.6)


def draw_swimmer(reports: list[SubjectReport], out: Path, dlt_window_days: int) -> None:
    """One bar per subject from the infusion to the last visit or contact, with the main events marked."""
    plt = _pyplot()
    ordered = sorted(reports, key=lambda r: (r.subject.cohort, r.subject.id), reverse=True)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(ordered) + 1.6))
    seen: set[str] = set()

    def mark(x: float, y: int, style: dict, label: str) -> None:
        ax.scatter(x, y, zorder=3, label=None if label in seen else label, **style)
        seen.add(label)

    for y, r in enumerate(ordered):
        s = r.subject
        last = max([d for _, d in s.visit_dates()] + ([s.last_contact] if s.last_contact else []) + [s.infusion])
        ax.barh(y, s.study_day(last), left=0, color="#cfd8dc", height=0.5)
        crs = [g for g in s.graded if g.kind == "crs" and g.grade > 0]
        if crs:
            worst = max(crs, key=lambda g: g.grade)
            mark(s.study_day(worst.day), y, {"marker": "^", "color": GRADE_COLOURS[worst.grade], "edgecolor": "k"},
                 "worst CRS (colour = grade)")
        icans = [g for g in s.graded if g.kind == "icans" and g.grade > 0]
        if icans:
            worst = max(icans, key=lambda g: g.grade)
            mark(s.study_day(worst.day), y, {"marker": "v", "color": GRADE_COLOURS[worst.grade], "edgecolor": "k"},
                 "worst ICANS (colour = grade)")
        for a in s.adverse_events:
            if a.grade >= 3:
                mark(s.study_day(a.onset), y, {"marker": "x", "color": "#d9534f"}, "adverse event grade >= 3")
        first = next((v for v in r.visits if (o := v.get(REMISSION[s.cohort])) and o.status == MET), None)
        if first is not None:
            mark(first.study_day, y, {"marker": "o", "color": "#4c9a2a"},
                 "first remission (SLE: DORIS; SRNS: IPNA complete)")
        for v in r.visits:
            if (o := v.get("ipna-relapse")) and o.status == MET:
                mark(v.study_day, y, {"marker": "D", "color": "#6a3d9a"}, "relapse (IPNA)")
        depletion = r.summary_of("cd19-depletion")
        if depletion.status == MET and depletion.value is not None:
            mark(depletion.value, y, {"marker": "|", "color": "#33a02c", "s": 120}, "CD19+ B cells depleted")
    ax.set_yticks(range(len(ordered)), [f"{r.subject.id} ({r.subject.cohort})" for r in ordered], fontsize=8)
    ax.axvspan(0, dlt_window_days, color="#fde0dd", alpha=0.5, lw=0)
    ax.set_xlabel("days from CAR-NK infusion (shaded: DLT window)")
    # below the x-axis label at a fixed distance (in font sizes), whatever the number of subjects
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0), borderaxespad=5, ncol=2, frameon=False)
    fig.tight_layout()
    _save(fig, out, tight=True)
    plt.close(fig)
