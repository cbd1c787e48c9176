"""Strict reading of parsed YAML/JSON documents (the protocol files, the follow-up file): a
mapping may hold only known keys and must hold the required ones, and every error names where."""

from __future__ import annotations

from typing import Any, Callable


def mapping(where: str, raw: Any, allowed: set[str], required: set[str] | frozenset[str],
            error: Callable[[str, str], Exception]) -> dict:
    """``raw`` itself if it is a mapping with only ``allowed`` keys and all ``required`` ones;
    otherwise raises ``error(where, why)``."""
    if not isinstance(raw, dict):
        raise error(where, f"expected a mapping with keys {sorted(allowed)}, got {raw!r}")
    unknown = set(raw) - allowed
    if unknown:
        raise error(where, f"unknown key(s) {sorted(map(str, unknown))}; allowed: {sorted(allowed)}")
    missing = set(required) - set(raw)
    if missing:
        raise error(where, f"missing key(s) {sorted(missing)}")
    return raw
