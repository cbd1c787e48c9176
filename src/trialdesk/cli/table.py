"""Readable, coloured per-criterion tables for ``trialdesk screen``."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from trialdesk.protocol.model import Protocol

COLOURS = {"pass": "green", "not_applicable": "dim", "fail": "bold red", "unknown": "yellow",
           "review": "magenta", "eligible": "bold green", "ineligible": "bold red",
           "incomplete": "bold yellow", "needs_review": "bold magenta"}
_console = Console()


def _hint(c: dict) -> str:
    parts = []
    if c["eligible_from"]:
        parts.append(f"eligible from {c['eligible_from']}")
    if c["valid_until"]:
        parts.append(f"valid until {c['valid_until']}")
    for n in c["needs"]:
        parts.append(f"collect {n['what']}" + (f" ({n['window']})" if n["window"] else ""))
    if c["clarifications"]:
        parts.append(", ".join(c["clarifications"]))
    return "; ".join(parts)


def print_screening(obj: dict, protocol: Protocol) -> None:
    p = obj["patient"]
    _console.print(f"[bold]{obj['file']}[/bold]  patient {p['id']}, age {p['age']}, {p['sex']}; "
                   f"screened {obj['as_of']} under {obj['protocol']['id']} {obj['protocol']['version']}")
    for note in obj["notes"]:
        _console.print(f"  [dim]note: {note}[/dim]")
    titles = {c.id: c.title for c in protocol.criteria}
    for r in obj["results"]:
        colour = COLOURS[r["overall"]]
        table = Table(title=f"{r['cohort']}: [{colour}]{r['overall']}[/{colour}]", title_justify="left",
                      show_lines=False, expand=True)
        table.add_column("criterion", ratio=2)
        table.add_column("outcome", no_wrap=True)
        table.add_column("reason", ratio=5)
        table.add_column("next step / hint", ratio=2)
        for c in r["criteria"]:
            colour = COLOURS[c["outcome"]]
            table.add_row(f"{c['id']}\n[dim]{titles.get(c['id'], '')}[/dim]", f"[{colour}]{c['outcome']}[/{colour}]",
                          c["reason"], _hint(c))
        _console.print(table)
    if obj["data_issues"]:
        _console.print("[bold]data issues[/bold]")
        for i in obj["data_issues"]:
            _console.print(f"  {i['kind']}: {i['resource']}: {i['message']}", markup=False)
    _console.print()


def print_error(obj: dict) -> None:
    _console.print(f"[bold red]{obj['file']}: {obj['error']}[/bold red]")
