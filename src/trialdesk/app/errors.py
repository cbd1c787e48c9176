"""The application's errors; each carries the HTTP status it is answered with.

    TrialdeskError (trialdesk.errors)
    ├── SettingsError          the settings do not allow a start (trialdesk.app.settings)
    └── AppError               a request cannot be carried out
        ├── NotAuthenticated   401: no live session
        ├── PermissionDenied   403: the role may not, a CSRF token is wrong, a password does not match
        ├── NotFound           404
        ├── Conflict           409: not in this state (e.g. signing with undecided review items)
        ├── TooLarge           413: an upload over the size limit
        ├── Invalid            422: bad input (e.g. not a FHIR bundle)
        └── Throttled          429: too many failed log-ins
"""

from __future__ import annotations

from trialdesk.errors import TrialdeskError

__all__ = ["AppError", "Conflict", "Invalid", "NotAuthenticated", "NotFound", "PermissionDenied", "Throttled",
           "TooLarge"]


class AppError(TrialdeskError):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthenticated(AppError):
    status_code = 401


class PermissionDenied(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class TooLarge(AppError):
    status_code = 413


class Invalid(AppError):
    status_code = 422


class Throttled(AppError):
    status_code = 429
