"""Build FHIR R4 resources for synthetic patients: examples, tests, generators.

``PatientBuilder`` accumulates one patient's resources, each shaped as data.md
says the site sends it; ``bundle()`` returns the Bundle. Dates are given as
days before a reference date so a scenario reads as a timeline.
"""

from __future__ import annotations

from datetime import date, timedelta

LOINC, SNOMED, ICD10 = "http://loinc.org", "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10"
RXNORM, CVX, UCUM = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://hl7.org/fhir/sid/cvx", "http://unitsofmeasure.org"
TD = "urn:trialdesk:"


class PatientBuilder:
    """Accumulates one patient's resources; ``bundle()`` returns the FHIR Bundle."""

    def __init__(self, pid: str, gender: str | None, birth: str | None, as_of: date) -> None:
        self.pid = pid
        self.as_of = as_of
        patient = {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth}
        self.resources: list[dict] = [{k: v for k, v in patient.items() if v is not None}]

    def day(self, days_before: int) -> str:
        """The ISO date ``days_before`` days before the reference date."""
        return (self.as_of - timedelta(days=days_before)).isoformat()

    def _add(self, rtype: str, body: dict) -> dict:
        res = {"resourceType": rtype, "id": f"{rtype.lower()}-{len(self.resources)}",
               "subject" if rtype not in ("Immunization", "AllergyIntolerance", "Consent") else "patient":
               {"reference": f"Patient/{self.pid}"}, **body}
        if rtype == "ResearchSubject":
            res["individual"] = res.pop("subject")
        self.resources.append(res)
        return res

    def obs(self, system: str, code: str, days_before: int, **value: object) -> dict:
        return self._add("Observation", {"status": "final", "code": {"coding": [{"system": system, "code": code}]},
                                         "effectiveDateTime": self.day(days_before), **value})

    def qty(self, code: str, value: float, unit: str, days_before: int, high: float | None = None) -> dict:
        body: dict = {"valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}
        if high is not None:
            body["referenceRange"] = [{"high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}]
        return self.obs(LOINC, code, days_before, **body)

    def result(self, code: str, positive: bool, days_before: int) -> dict:
        concept = ("10828004", "Positive") if positive else ("260385009", "Negative")
        return self.obs(LOINC, code, days_before, valueCodeableConcept={
            "coding": [{"system": SNOMED, "code": concept[0], "display": concept[1]}]})

    def attest(self, code: str, value: bool, days_before: int = 1, performer: dict | None = None) -> dict:
        return self.obs(f"{TD}attestation", code, days_before, valueBoolean=value,
                        performer=[performer or {"display": "Dr. Investigator (PI)"}])

    def assessment(self, kind: str, items: list[str], days_before: int, absent: tuple[str, ...] = ()) -> dict:
        """Components: ``items`` present (true); ``absent`` assessed and absent (false)."""
        return self.obs(f"{TD}assessment", kind, days_before, component=[
            {"code": {"coding": [{"system": f"{TD}{kind}", "code": i}]}, "valueBoolean": i not in absent}
            for i in [*items, *absent]])

    def condition(self, system: str, code: str, display: str, onset: str, status: str = "active") -> dict:
        return self._add("Condition", {
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": status}]},
            "code": {"coding": [{"system": system, "code": code, "display": display}]}, "onsetDateTime": onset})

    @staticmethod
    def dosage(dose: float, unit: str = "mg", frequency: int = 1, period: float = 1, period_unit: str = "d",
               route: tuple[str, str] | None = None) -> dict:
        """One Dosage: ``dose`` ``unit`` ``frequency`` times per ``period`` ``period_unit``; route (SNOMED, display)."""
        body: dict = {"timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": period_unit}},
                      "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit, "system": UCUM, "code": unit}}]}
        if route is not None:
            body["route"] = {"coding": [{"system": SNOMED, "code": route[0], "display": route[1]}]}
        return body

    def drug(self, system: str, code: str, display: str, start: str, end: str | None = None,
             mg_per_day: float | None = None, dosage: dict | None = None, text: str | None = None) -> dict:
        """A MedicationStatement over [start, end] (no end: ongoing)."""
        body: dict = {"status": "active" if end is None else "completed",
                      "medicationCodeableConcept": _drug_concept(system, code, display, text),
                      "effectivePeriod": {"start": start, **({"end": end} if end else {})}}
        if mg_per_day is not None:
            dosage = self.dosage(mg_per_day)
        if dosage is not None:
            body["dosage"] = [dosage]
        return self._add("MedicationStatement", body)

    def prescription(self, system: str, code: str, display: str, start: str, end: str | None = None,
                     dosage: dict | None = None, text: str | None = None) -> dict:
        """A MedicationRequest authored on ``start``, valid until ``end`` (no end: ongoing)."""
        body: dict = {"status": "active" if end is None else "completed", "intent": "order",
                      "medicationCodeableConcept": _drug_concept(system, code, display, text), "authoredOn": start,
                      "dispenseRequest": {"validityPeriod": {"start": start, **({"end": end} if end else {})}}}
        if dosage is not None:
            body["dosageInstruction"] = [dosage]
        return self._add("MedicationRequest", body)

    def vaccine(self, cvx: str, display: str, days_before: int) -> dict:
        return self._add("Immunization", {"status": "completed", "occurrenceDateTime": self.day(days_before),
                                          "vaccineCode": {"coding": [{"system": CVX, "code": cvx, "display": display}]}})

    def consent(self, days_before: int) -> dict:
        return self._add("Consent", {"status": "active", "dateTime": self.day(days_before), "scope": {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}]},
            "category": [{"coding": [{"system": LOINC, "code": "59284-0"}]}]})

    def bundle(self) -> dict:
        return {"resourceType": "Bundle", "type": "collection",
                "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in self.resources]}


def _drug_concept(system: str, code: str, display: str, text: str | None) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], **({"text": text} if text else {})}
