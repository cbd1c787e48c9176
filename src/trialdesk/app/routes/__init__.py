"""One router per resource: ``api_*`` answer JSON under ``/api``; ``pages`` serves HTML."""
