"""The exceptions trialdesk raises, in one tree.

Missing or stale *patient data* is never an exception: it is an ``unknown``
outcome with the reason. Exceptions are for input that cannot be used at all
and for mistakes in a protocol file.

    TrialdeskError
    ├── ProtocolError                 a protocol file cannot be loaded
    │   └── ProtocolValidationError   unknown key, bad value, dangling reference
    ├── CalculatorError               a calculator input is missing or impossible
    │   └── UnitError                 a unit is unknown or of the wrong dimension
    ├── InputError                    a file is not a readable FHIR R4 Bundle
    └── FollowupError                 a follow-up file has an unknown key or a bad value
"""

from __future__ import annotations

__all__ = [
    "CalculatorError",
    "FollowupError",
    "InputError",
    "ProtocolError",
    "ProtocolValidationError",
    "TrialdeskError",
    "UnitError",
]


class TrialdeskError(Exception):
    """Base of every error trialdesk raises on purpose."""


class ProtocolError(TrialdeskError):
    """A protocol file cannot be loaded."""


class ProtocolValidationError(ProtocolError, ValueError):
    """A protocol file has an unknown key, a bad value or a dangling reference.

    ``where`` names the file and path inside it (e.g. ``criteria.yaml: INC-LVEF.rule[0]``).
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class CalculatorError(TrialdeskError, ValueError):
    """A calculator input is missing, impossible, or outside the equation's range.

    ``field`` names the offending input (e.g. ``creatinine``).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnitError(CalculatorError):
    """A unit is unknown, or not convertible to the unit asked for."""


class InputError(TrialdeskError):
    """A file is not a readable FHIR R4 Bundle (not JSON, wrong type, no Patient)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class FollowupError(TrialdeskError, ValueError):
    """A follow-up file (docs/followup.md) has an unknown key, a bad value or a dangling reference.

    ``where`` names the place (e.g. ``subjects[0].visits[2].labs.alt``).
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
