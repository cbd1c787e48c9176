"""After the infusion: the visit schedule, the follow-up record, endpoints and outputs.

Modules: :mod:`.schedule` (visit dates and status), :mod:`.records` (the
follow-up record), :mod:`.read` (the follow-up file, docs/followup.md) and
:mod:`.fhir` (data from a FHIR bundle), :mod:`.outcome` (the endpoint
result), :mod:`.treatment` (steroid dose on a date), :mod:`.sle`,
:mod:`.srns`, :mod:`.immunology` and :mod:`.safety` (endpoints),
:mod:`.evaluate` (every endpoint per visit), :mod:`.cohort` (cohort tables),
:mod:`.plots` and :mod:`.sdtm` (figures and CSV exports).
"""
