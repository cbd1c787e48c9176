"""The attrition funnel as a figure (SVG or PNG, by the file's suffix)."""

from __future__ import annotations

from pathlib import Path

from trialdesk.population.prescreen import Funnel, atomic_write

COLOURS = {"pass": "#4c9a2a", "not_applicable": "#a6c48a", "review": "#9b59b6", "unknown": "#f0ad4e",
           "fail": "#d9534f"}


def draw_funnel(funnels: list[Funnel], out: Path) -> None:
    """One panel per cohort: per criterion, stacked outcome counts and the persons still possibly eligible."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max((len(f.rows) for f in funnels), default=1)
    fig, axes = plt.subplots(1, max(len(funnels), 1), figsize=(7 * max(len(funnels), 1), 0.32 * rows + 1.8),
                             squeeze=False)
    for ax, f in zip(axes[0], funnels):
        names = [r.criterion for r in f.rows][::-1]
        left = [0] * len(names)
        for outcome, colour in COLOURS.items():
            widths = [r.counts[outcome] for r in f.rows][::-1]
            ax.barh(names, widths, left=left, color=colour, label=outcome, height=0.7)
            left = [a + b for a, b in zip(left, widths)]
        ax.plot([r.remaining for r in f.rows][::-1], names, "k.-", label="still possibly eligible")
        ax.set_title(f"{f.cohort}: {f.considered} considered")
        ax.set_xlabel("persons")
        ax.tick_params(axis="y", labelsize=7)
    axes[0][0].legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, format=out.suffix.lstrip(".")))
    plt.close(fig)
