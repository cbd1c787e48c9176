"""After the infusion: the visit schedule, the follow-up record, endpoints and outputs.

Modules: :mod:`.schedule` (visit dates and status), :mod:`.records` (the
follow-up record), :mod:`.read` (the follow-up file, docs/followup.md),
:mod:`.outcome` (the endpoint result), :mod:`.sle`, :mod:`.srns`,
:mod:`.immunology` and :mod:`.safety` (endpoints), :mod:`.evaluate` (every
endpoint per visit), :mod:`.cohort` (cohort table), :mod:`.plots` and
:mod:`.sdtm` (figures and CSV exports).
"""
