"""Population pre-screening over an OMOP CDM v5.4 warehouse.

The protocol's rule nodes compile to Ibis expressions (``compile.py``), run on
DuckDB by default or on Spark; codes resolve through the warehouse's own
concept table (``concepts.py``) with the same matcher as single-patient
screening, so there is one copy of every rule and every value set.
"""
