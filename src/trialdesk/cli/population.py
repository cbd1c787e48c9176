"""``trialdesk prescreen``: progress, funnel table and files around the population run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from trialdesk.errors import InputError, ProtocolError
from trialdesk.population import prescreen as ps

_err = Console(stderr=True)
_out = Console()


def _session(engine: str, master: str | None, remote: str | None):
    if engine != "spark":
        return None
    from trialdesk.population.spark import spark_session

    return spark_session(master=master, remote=remote)


def _print_funnel(funnels: list[ps.Funnel], persons: int, titles: dict[str, str], forced: bool) -> None:
    for f in funnels:
        entry = "screened for it (chosen with --cohort)" if forced else "have a diagnosis for it (cohort entry)"
        heading = f"{f.cohort} ({titles[f.cohort]}): {f.considered:,} of {persons:,} persons {entry}"
        if not f.considered:
            _out.print(f"[bold]{heading}[/bold]: nobody to screen")
            continue
        table = Table(title=heading, title_justify="left")
        for col in ("criterion", "pass", "n/a", "review", "unknown", "fail", "still possibly eligible"):
            table.add_column(col, justify="left" if col == "criterion" else "right")
        for r in f.rows:
            c = r.counts
            table.add_row(r.criterion, str(c["pass"]), str(c["not_applicable"]), str(c["review"]),
                          str(c["unknown"]), f"[red]{c['fail']}[/red]" if c["fail"] else "0", str(r.remaining))
        _out.print(table)


def run_prescreen(omop_path: Path, out: Path, dates: dict[str, date], cohort: str | None, engine: str,
                  funnel_file: Path | None, worklist_file: Path | None, spark_master: str | None,
                  spark_remote: str | None, protocol_dir: Path | None) -> int:
    """Run the pre-screen; returns the exit code (0 ran, 2 unusable input)."""
    from trialdesk.population.source import open_omop
    from trialdesk.protocol.load import load

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=_err, transient=False) as progress:
            step = progress.add_task("loading the protocol and opening the OMOP tables", total=None)
            protocol = load(protocol_dir)
            if cohort is not None and cohort not in protocol.cohorts:
                raise ProtocolError(f"{cohort!r} is not a cohort of {protocol.id}: use {' or '.join(protocol.cohorts)}")
            omop = open_omop(omop_path, engine, _session(engine, spark_master, spark_remote))
            persons = int(omop["person"].count().execute())
            progress.update(step, completed=1, total=1)
            step = progress.add_task("resolving codes through the concept table and compiling the protocol",
                                     total=None)
            from trialdesk.population.facts import Facts

            facts = Facts(protocol, omop, dates["as_of"])
            result = ps.build(protocol, omop, dates, cohort, facts)
            progress.update(step, completed=1, total=1)
            step = progress.add_task(f"screening {persons:,} persons on {engine}, writing {out}", total=None)
            ps.write_table(result, out)
            progress.update(step, completed=1, total=1)
            step = progress.add_task("counting the funnel and data quality", total=None)
            con = ibis.duckdb.connect()
            written = con.read_parquet(out) if out.suffix == ".parquet" else con.read_csv(out)
            funnels = ps.funnel(protocol, written, [cohort] if cohort else list(protocol.cohorts))
            quality = ps.data_quality(facts)
            if worklist_file is not None:
                ps.write_table(ps.worklist(protocol, written), worklist_file)
            if funnel_file is not None:
                from trialdesk.population.figures import draw_funnel

                draw_funnel(funnels, funnel_file)
            progress.update(step, completed=1, total=1)
    except (InputError, ProtocolError) as exc:
        _err.print(f"error: {exc}", markup=False)
        return 2
    _out.print(f"{persons:,} persons in {omop_path}; screened as of {dates['as_of']}; results in {out}")
    _print_funnel(funnels, persons, {c: v.title for c, v in protocol.cohorts.items()}, cohort is not None)
    for what, n in quality.items():
        _out.print(f"data quality: {n:,} {what}")
    return 0
