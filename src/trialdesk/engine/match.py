"""Value-set matching: exact codes, ICD-10/ATC prefixes, ingredient names.

ICD-10 codes match with and without the dot (``N04.0`` = ``N040``). Names
match drug and allergy text as whole words, case-insensitively (``cortisone``
does not match ``hydrocortisone``); names in Chinese match as substrings.
Zero-width characters (seen in Synthea displays) are removed first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property

from trialdesk.patient.model import Coding
from trialdesk.protocol.model import Protocol

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff"))
# Dose forms that act locally (CL-14): a topical cream or an inhaler is not systemic therapy.
_LOCAL_FORM = re.compile(
    r"\b(topical|cream|ointment|lotion|gel|shampoo|ophthalmic|otic|eye drops?|ear drops?|nasal spray|"
    r"inhal\w*|metered dose|dry powder|vaginal)\b|外用|滴眼|乳膏|软膏|吸入", re.I)


def is_systemic(codes: Iterable[Coding], text: str | None) -> bool:
    """False when a drug's text or display names a locally acting dose form (CL-14)."""
    texts = [c.display for c in codes if c.display] + ([text] if text else [])
    return not any(_LOCAL_FORM.search(t.translate(_ZERO_WIDTH)) for t in texts)


def _norm(code: str) -> str:
    return code.replace(".", "").strip().upper()


class Matcher:
    """Maps codings and free text to the value sets they belong to."""

    def __init__(self, protocol: Protocol) -> None:
        self.exact: dict[tuple[str, str], set[str]] = {}
        self.prefixes: dict[str, list[tuple[str, str]]] = {}
        self.excludes: dict[str, list[tuple[str, str]]] = {}
        names: dict[str, list[str]] = {}
        for vs in protocol.valuesets.values():
            for c in vs.codes:
                self.exact.setdefault((c.system, _norm(c.code)), set()).add(vs.id)
            for c in vs.prefixes:
                self.prefixes.setdefault(c.system, []).append((_norm(c.code), vs.id))
            for c in vs.exclude_prefixes:
                self.excludes.setdefault(vs.id, []).append((c.system, _norm(c.code)))
            for n in vs.names:
                names.setdefault(n.lower(), []).append(vs.id)
        self._names = names

    @cached_property
    def _name_pattern(self) -> re.Pattern[str] | None:
        if not self._names:
            return None
        alts = sorted(self._names, key=len, reverse=True)
        return re.compile("|".join(
            re.escape(n) if not n.isascii() else rf"(?<![a-z]){re.escape(n)}(?![a-z])" for n in alts))

    def valuesets(self, codes: Iterable[Coding], text: str | None = None, by_name: bool = False) -> frozenset[str]:
        """Value sets matched by ``codes`` (and, if ``by_name``, by names in displays and ``text``)."""
        found: set[str] = set()
        codes = tuple(codes)
        for c in codes:
            key = _norm(c.code)
            found.update(self.exact.get((c.system, key), ()))
            for prefix, vs in self.prefixes.get(c.system, ()):
                if key.startswith(prefix) and not self._excluded(vs, c.system, key):
                    found.add(vs)
        if by_name and self._name_pattern is not None:
            texts = [c.display for c in codes if c.display] + ([text] if text else [])
            for t in texts:
                for m in self._name_pattern.finditer(t.translate(_ZERO_WIDTH).lower()):
                    found.update(self._names[m.group(0)])
        return frozenset(found)

    def _excluded(self, vs: str, system: str, key: str) -> bool:
        return any(s == system and key.startswith(p) for s, p in self.excludes.get(vs, ()))
