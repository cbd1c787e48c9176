"""The site's screening application: a FastAPI app over the trialdesk engine.

``create_app(settings)`` builds it (``trialdesk.app.main``); ``trialdesk serve`` runs it.
See docs/app.md for roles, what is built and what is not yet.
"""

from trialdesk.app.main import create_app
from trialdesk.app.settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app"]
