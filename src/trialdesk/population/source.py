"""Opening an OMOP CDM v5.4 source: a folder of Parquet/CSV tables or a DuckDB file.

A folder holds, per table, ``<table>.parquet``, ``<table>.csv`` or a folder
``<table>/`` of such files. Missing tables and columns of the wrong type are
reported by name before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from trialdesk.errors import InputError

# Table -> {column: kind}; kinds: int, date, num, str. Only the columns trialdesk reads.
REQUIRED: dict[str, dict[str, str]] = {
    "person": {"person_id": "int", "gender_concept_id": "int", "year_of_birth": "int", "month_of_birth": "int",
               "day_of_birth": "int", "person_source_value": "str"},
    "concept": {"concept_id": "int", "concept_name": "str", "vocabulary_id": "str", "concept_code": "str"},
    "measurement": {"person_id": "int", "measurement_concept_id": "int", "measurement_source_concept_id": "int",
                    "measurement_date": "date", "value_as_number": "num", "value_as_concept_id": "int",
                    "unit_source_value": "str", "range_high": "num", "value_source_value": "str"},
    "observation": {"observation_id": "int", "person_id": "int", "observation_concept_id": "int",
                    "observation_source_concept_id": "int", "observation_date": "date", "value_as_number": "num",
                    "value_as_string": "str", "value_as_concept_id": "int", "qualifier_source_value": "str",
                    "unit_source_value": "str", "value_source_value": "str", "observation_event_id": "int",
                    "value_as_datetime": "date"},
    "condition_occurrence": {"person_id": "int", "condition_concept_id": "int",
                             "condition_source_concept_id": "int", "condition_start_date": "date",
                             "condition_end_date": "date"},
    "drug_exposure": {"drug_exposure_id": "int", "person_id": "int", "drug_concept_id": "int", "drug_source_concept_id": "int",
                      "drug_exposure_start_date": "date", "drug_exposure_end_date": "date", "quantity": "num",
                      "dose_unit_source_value": "str", "drug_source_value": "str"},
    "procedure_occurrence": {"person_id": "int", "procedure_concept_id": "int",
                             "procedure_source_concept_id": "int", "procedure_date": "date",
                             "procedure_end_date": "date"},
}
_KINDS = {"int": dt.Integer, "num": (dt.Integer, dt.Floating, dt.Decimal), "str": dt.String,
          "date": (dt.Date, dt.Timestamp)}


@dataclass
class Omop:
    """The OMOP tables, as Ibis tables on one backend, with the columns trialdesk reads."""

    con: object
    tables: dict[str, ibis.Table]
    spark: object = None  # the SparkSession on the Spark backend

    def __getitem__(self, name: str) -> ibis.Table:
        return self.tables[name]

    def register(self, name: str, data: pa.Table) -> ibis.Table:
        """A small table made in Python (a value-set lookup) as a table of this backend.

        DuckDB takes it as a memtable. On Spark it becomes a temporary view under a
        fresh name: Ibis 12's pyspark ``.cache()`` runs its SQL without registering
        the memtables the query reads, so a cached fact table over a memtable fails.
        """
        if self.spark is None:
            return ibis.memtable(data)
        view = ibis.util.gen_name(name)
        self.spark.createDataFrame(data).createOrReplaceTempView(view)
        return self.con.table(view)


def _files(folder: Path, name: str) -> tuple[str, list[str]] | None:
    for ext in ("parquet", "csv"):
        if (folder / f"{name}.{ext}").is_file():
            return ext, [str(folder / f"{name}.{ext}")]
    sub = folder / name
    if sub.is_dir():
        for ext in ("parquet", "csv"):
            found = sorted(str(p) for p in sub.glob(f"*.{ext}"))
            if found:
                return ext, found
    return None


def _normalise(name: str, table: ibis.Table, source: str, text_ok: bool = False) -> ibis.Table:
    """Check the columns trialdesk reads and cast them to one type per kind.

    With ``text_ok`` (CSV, read as text: a guessed type would make an empty column
    text and a code column a number) a text column is accepted when every
    non-empty value converts.
    """
    wanted = REQUIRED[name]
    columns = {c.lower(): c for c in table.columns}
    missing = [c for c in wanted if c not in columns and c not in _OPTIONAL]
    if missing:
        raise InputError(source, f"table {name} lacks column(s) {', '.join(missing)}")
    out = {}
    for col, kind in wanted.items():
        if col not in columns:
            out[col] = ibis.null().cast(_CAST[kind])
            continue
        column = table[columns[col]]
        if not isinstance(column.type(), _KINDS[kind]) and not column.type().is_null():
            if not (text_ok and column.type().is_string()):
                raise InputError(source, f"column {name}.{col} has type {column.type()}, expected {kind}")
            converted = column.nullif("").try_cast(_CAST[kind])
            bad = table.filter(column.nullif("").notnull() & converted.isnull()).select(v=column).limit(1)
            example = bad.to_pyarrow()["v"].to_pylist()
            if example:
                raise InputError(source, f"column {name}.{col} holds {example[0]!r}, which is not a {kind}")
            out[col] = converted
            continue
        out[col] = column.cast(_CAST[kind])
    return table.select(**out)


_CAST = {"int": "int64", "num": "float64", "str": "string", "date": "date"}
# OMOP v5.4 columns an older or trimmed extract may lack; read as NULL when absent.
_OPTIONAL = {"observation_event_id", "value_as_datetime", "value_source_value", "qualifier_source_value",
             "measurement_source_concept_id", "observation_source_concept_id", "condition_source_concept_id",
             "drug_source_concept_id", "procedure_source_concept_id", "procedure_end_date",
             "dose_unit_source_value", "unit_source_value", "range_high", "value_as_concept_id",
             "drug_source_value", "value_as_string", "month_of_birth", "day_of_birth", "person_source_value"}


def open_omop(source: Path | str, backend: str = "duckdb", spark=None) -> Omop:
    """Open ``source`` (folder or .duckdb/.db file) on DuckDB, or on Spark with ``spark``."""
    path = Path(source)
    if backend == "spark":
        con = ibis.pyspark.connect(spark)
    elif path.is_file():
        con = ibis.duckdb.connect(str(path), read_only=True)
    else:
        con = ibis.duckdb.connect()
    tables = {}
    for name in REQUIRED:
        if path.is_file() and backend != "spark":
            if name not in con.list_tables():
                raise InputError(str(path), f"missing table {name}")
            raw = con.table(name)
            ext = "duckdb"
        else:
            found = _files(path, name) if path.is_dir() else None
            if found is None:
                raise InputError(str(path), f"missing table {name} ({name}.parquet, {name}.csv or {name}/)")
            ext, files = found
            target = files if len(files) > 1 else files[0]
            if ext == "parquet":
                raw = con.read_parquet(target, table_name=f"omop_{name}")
            else:  # every column as text, converted below by the kind it must have
                raw = con.read_csv(target, table_name=f"omop_{name}", all_varchar=True)
        tables[name] = _normalise(name, raw, str(path), text_ok=not path.is_file() and ext == "csv")
    return Omop(con, tables, spark if backend == "spark" else None)
