"""Tests of the site application (trialdesk.app); a package so that its conftest does not shadow tests/conftest.py."""
