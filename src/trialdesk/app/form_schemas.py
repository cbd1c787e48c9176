"""Request bodies of the data-entry forms (:mod:`trialdesk.app.forms`).

Codes are plain strings checked against the loaded protocol, so an unknown one gets a 422
that lists the known ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from trialdesk.app.schemas import Strict

DateField = Field(description="The date the item applies to (not in the future)")


class CorrectableIn(Strict):
    replaces: str | None = Field(None, max_length=120, description="A record of the current data (GET "
                                 ".../records, e.g. 'Observation/abc' or 'Observation/#12') that this entry corrects")
    reason: str | None = Field(None, max_length=2000, description="Why the record is corrected (required with "
                                                                  "replaces)")


class PerformanceIn(CorrectableIn):
    scale: str = Field(max_length=20, description="ecog (0-5), karnofsky or lansky (0-100 in steps of 10)")
    score: int
    date: dt.date = DateField


class EcgIn(CorrectableIn):
    impression: str = Field(max_length=40, description="normal, abnormal-not-significant or abnormal-significant")
    finding: str = Field("", max_length=500, description="The finding in words (optional)")
    date: dt.date = DateField


class SledaiIn(CorrectableIn):
    descriptors: list[str] = Field(max_length=24, description="The SLEDAI-2K descriptors present (data.md codes); "
                                                              "the others are recorded as assessed and absent")
    date: dt.date = Field(description="The visit date")


class EularIn(CorrectableIn):
    items: list[str] = Field(max_length=21, description="The 2019 EULAR/ACR items present (data.md codes)")
    date: dt.date = DateField
    ana_titer: int | None = Field(None, description="ANA titer denominator (160 for 1:160; 0 for negative), "
                                                    "recorded as its own result")
    ana_date: dt.date | None = Field(None, description="Date of the ANA test (default: the assessment date)")


class MedicationIn(CorrectableIn):
    drug: str = Field(max_length=80, description="An ingredient of the protocol's drug value sets, e.g. rituximab")
    dose: float
    unit: str = Field(max_length=10, description="mg, g or ug")
    route: str = Field(max_length=20, description="oral, intravenous, subcutaneous, intramuscular, transdermal, "
                                                  "topical, ophthalmic, otic, nasal or vaginal")
    frequency: int = Field(1, description="Doses per period")
    period: float = 1
    period_unit: str = Field("d", max_length=20, description="h, d, wk or mo")
    start: dt.date
    end: dt.date | None = Field(None, description="Last day; none for an ongoing course")
    record: Literal["statement", "request"] = Field("statement", description="MedicationStatement (taken) or "
                                                                             "MedicationRequest (prescribed)")


class AttestationIn(CorrectableIn):
    code: str = Field(max_length=60, description="An attestation code the protocol reads, e.g. consent-signed")
    value: bool
    date: dt.date | None = Field(None, description="The date the statement applies to (default: today)")


class CorrectionIn(Strict):
    record: str = Field(max_length=120, description="The record of the current data to change (GET .../records)")
    action: Literal["remove", "replace"]
    reason: str = Field(min_length=1, max_length=2000)
    resource: dict[str, Any] | None = Field(None, description="The corrected FHIR resource (replace only); it "
                                                              "keeps the record's type and id")
