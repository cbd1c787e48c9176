"""Population pre-screening: the compiled protocol against the interpreter, DuckDB against Spark.

A package (unlike tests/synth) so that its module names, e.g. ``test_parity``, do not
collide with the other test folders'.
"""
