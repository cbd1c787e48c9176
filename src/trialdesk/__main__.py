"""``python -m trialdesk``: the command line."""

from trialdesk.cli import main

main()
