"""The ``trialdesk`` command line: screen, calc, lint."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from trialdesk.cli.app_commands import register as register_app_commands
from trialdesk.cli.followup import followup_app

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Eligibility screening for the CAR-NK trial in SLE and MDR-SRNS.")


class Format(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def _date(value: Optional[str], name: str) -> Optional[date]:
    if value is None:
        return None
    try:
        when = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=name) from None
    if not EARLIEST <= when <= LATEST:
        raise typer.BadParameter(f"{value} is outside {EARLIEST} to {LATEST}", param_hint=name)
    return when


def _check_cohort(cohort: Optional[str], protocol) -> None:
    if cohort is not None and cohort not in protocol.cohorts:
        raise typer.BadParameter(f"{cohort!r} is not a cohort of {protocol.id}: use {' or '.join(protocol.cohorts)}",
                                 param_hint="--cohort")


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.glob("*.json")))
        elif p.exists():
            files.append(p)
        else:
            raise typer.BadParameter(f"{p} does not exist", param_hint="PATH")
    return files


@app.command()
def screen(
    paths: Annotated[list[Path], typer.Argument(help="FHIR R4 Bundle JSON files, or folders of *.json")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Screening date (default today)")] = None,
    enrollment: Annotated[Optional[str], typer.Option(help="Enrollment date (default --as-of)")] = None,
    infusion: Annotated[Optional[str], typer.Option(help="Infusion date (default --as-of)")] = None,
    cohort: Annotated[Optional[str], typer.Option(help="Screen exactly this cohort (carnk-aid: SLE or SRNS)")] = None,
    format: Annotated[Format, typer.Option("--format", help="Output format")] = Format.table,
    protocol_dir: Annotated[Optional[Path], typer.Option("--protocol", help="Protocol folder (default carnk-aid)")] = None,
    reference_intervals: Annotated[Optional[Path], typer.Option(
        "--reference-intervals", help="Site reference-interval table (YAML) for ULNs missing on results")] = None,
) -> None:
    """Screen patients' FHIR bundles against the protocol and explain every verdict."""
    from trialdesk.errors import InputError, ProtocolError
    from trialdesk.patient.fhir.bundle import read_bundle
    from trialdesk.protocol.load import load
    from trialdesk.engine.screen import screen as run
    from trialdesk.site import load_reference_intervals

    screening_date = _date(as_of, "--as-of") or date.today()
    dates = dict(as_of=screening_date, enrollment=_date(enrollment, "--enrollment"),
                 infusion=_date(infusion, "--infusion"))
    files = _expand(paths)
    if not files:
        raise typer.BadParameter("no *.json files found", param_hint="PATH")
    try:
        protocol = load(protocol_dir)
        site_table = load_reference_intervals(reference_intervals) if reference_intervals else None
    except ProtocolError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _check_cohort(cohort, protocol)
    failed = 0
    outputs = []
    for f in files:
        try:
            record = read_bundle(f.read_bytes(), str(f))
        except (InputError, OSError) as exc:
            failed += 1
            typer.echo(f"error: {exc}", err=True)
            outputs.append({"file": str(f), "error": str(exc)})
            if format is Format.jsonl:
                print(json.dumps(outputs.pop(), ensure_ascii=False), flush=True)
            continue
        result = run(protocol, record, cohort=cohort,
                     reference_intervals=site_table, **dates)
        obj = result.to_json(str(f))
        if format is Format.jsonl:
            print(json.dumps(obj, ensure_ascii=False), flush=True)
        elif format is Format.table:
            from trialdesk.cli.table import print_screening
            print_screening(obj, protocol)
        else:
            outputs.append(obj)
    if format is Format.json:
        print(json.dumps(outputs[0] if len(outputs) == 1 else outputs, ensure_ascii=False, indent=2))
    elif format is Format.table:
        for o in outputs:
            from trialdesk.cli.table import print_error
            print_error(o)
    if failed:
        raise typer.Exit(2 if len(files) == 1 else 1)


class Engine(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


@app.command()
def prescreen(
    omop: Annotated[Path, typer.Option("--omop", help="OMOP CDM v5.4: folder of Parquet/CSV tables, or a DuckDB file")],
    out: Annotated[Path, typer.Option("--out", help="Result file: .parquet or .csv")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Screening date (default today)")] = None,
    enrollment: Annotated[Optional[str], typer.Option(help="Enrollment date (default --as-of)")] = None,
    infusion: Annotated[Optional[str], typer.Option(help="Infusion date (default --as-of)")] = None,
    cohort: Annotated[Optional[str], typer.Option(help="Screen every person for this cohort (SLE or SRNS)")] = None,
    engine: Annotated[Engine, typer.Option(help="Where the compiled protocol runs")] = Engine.duckdb,
    funnel_file: Annotated[Optional[Path], typer.Option("--funnel", help="Draw the funnel: .svg or .png")] = None,
    worklist_file: Annotated[Optional[Path], typer.Option("--worklist", help="CSV of persons not ruled out")] = None,
    spark_master: Annotated[Optional[str], typer.Option(help="Spark master URL (default local[*])")] = None,
    spark_remote: Annotated[Optional[str], typer.Option(help="Spark Connect URL, sc://host:port")] = None,
    protocol_dir: Annotated[Optional[Path], typer.Option("--protocol", help="Protocol folder (default carnk-aid)")] = None,
) -> None:
    """Pre-screen a whole OMOP population: per-criterion outcomes, attrition funnel, worklist."""
    from trialdesk.cli.population import run_prescreen

    if out.suffix not in (".parquet", ".csv"):
        raise typer.BadParameter("use a .parquet or .csv file", param_hint="--out")
    if funnel_file is not None and funnel_file.suffix not in (".svg", ".png"):
        raise typer.BadParameter("use a .svg or .png file", param_hint="--funnel")
    screening_date = _date(as_of, "--as-of") or date.today()
    dates = {"as_of": screening_date, "enrollment": _date(enrollment, "--enrollment") or screening_date,
             "infusion": _date(infusion, "--infusion") or screening_date}
    code = run_prescreen(omop, out, dates, cohort, engine.value, funnel_file,
                         worklist_file, spark_master, spark_remote, protocol_dir)
    raise typer.Exit(code)


class SynthFormat(str, Enum):
    omop = "omop"
    fhir = "fhir"


@app.command()
def synth(
    persons: Annotated[int, typer.Option("--persons", min=1, help="How many persons")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write (created if needed)")],
    format: Annotated[SynthFormat, typer.Option("--format", help="omop: Parquet tables; fhir: one bundle per person")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same persons")] = 0,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Reference date of the histories")] = None,
    mix: Annotated[bool, typer.Option("--mix", help="Print the population mix and exit")] = False,
) -> None:
    """Generate a synthetic population (the same persons as OMOP tables or as FHIR bundles)."""
    import time

    from trialdesk.synth import AS_OF, SynthParams, describe_mix, generate, write_fhir, write_omop

    if mix:
        print(describe_mix())
        return
    when = _date(as_of, "--as-of") or AS_OF
    start = time.perf_counter()
    if format is SynthFormat.omop:
        written = write_omop(SynthParams(persons, seed, when), out)
        what = f"{len(written)} OMOP tables"
    else:
        written = write_fhir(generate(persons, seed, when), out)
        what = f"{len(written):,} FHIR bundles"
    typer.echo(f"{persons:,} persons: {what} in {out} ({time.perf_counter() - start:.1f} s)")


@app.command()
def calc(
    name: Annotated[str, typer.Argument(help="Calculator name, e.g. egfr-ckid-u25")],
    params: Annotated[Optional[list[str]], typer.Argument(help="key=value inputs, e.g. creatinine=88umol/L")] = None,
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Run one clinical calculator (eGFR, steroid equivalence, SLEDAI-2K, EULAR/ACR, ...)."""
    from trialdesk.calculators.registry import run
    from trialdesk.errors import CalculatorError

    if format not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    values = {}
    for item in params or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            typer.echo(f"error: {item!r} is not key=value", err=True)
            raise typer.Exit(2)
        values[key] = value
    try:
        result = run(name, values)
    except CalculatorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if format == "json":
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print(f"{result.name}: {result.value:g} {result.unit}")
        print(f"  {result.equation}")
        for key, value in result.extra.items():
            print(f"  {key}: {value}")
        print(f"  source: {result.source}")


@app.command()
def lint(
    protocol_dir: Annotated[Optional[Path], typer.Argument(help="Protocol folder (default carnk-aid)")] = None,
) -> None:
    """Load a protocol strictly and report what a reviewer should fix."""
    from trialdesk.errors import ProtocolError
    from trialdesk.protocol.lint import lint as run_lint
    from trialdesk.protocol.load import load

    try:
        protocol = load(protocol_dir)
    except ProtocolError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    warnings = run_lint(protocol)
    for w in warnings:
        typer.echo(f"{w.severity}: {w.where}: {w.message}")
    errors = sum(w.severity == "error" for w in warnings)
    typer.echo(f"{protocol.id} {protocol.version}: {len(protocol.criteria)} criteria, "
               f"{len(protocol.valuesets)} value sets, {errors} error(s), {len(warnings) - errors} warning(s)")
    raise typer.Exit(1 if errors else 0)


def main() -> None:
    app()


register_app_commands(app)
app.add_typer(followup_app, name="followup")


if __name__ == "__main__":
    sys.exit(main())
