"""Protocols as data: the model, the strict loader and the linter."""
