"""Schemathesis against the application's OpenAPI schema, logged in as each role.

Every documented API operation gets generated requests, valid by the schema and invalid,
each sent once per role; each response must not be a server error and must conform to the
schema (a documented status, content type, headers and body). Path parameters point at real
candidates most of the time, so the requests reach the workspace and not only its 404s.

The operations are driven through Hypothesis directly (``APIOperation.as_strategy``): the
``schemathesis.pytest`` lazy fixture loader does not run under pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .app_helpers import ROLES, example, make_site, new_candidate, post_bundle
from .conftest import _empty_postgres as empty_postgres

NUMBERS = st.sampled_from(["S-0001", "S-0002", "S-0003", None])
#: Logging out would end the role's session for every later case; it has its own tests.
SKIP = {("POST", "/api/auth/logout")}
#: A request the schema allows may still be refused (422) for what only the protocol or the
#: candidate's state can tell (an unknown cohort, a date after today, dates out of order).
NOT_CHECKED = [positive_data_acceptance]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_site(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'trialdesk.db'}"
    else:  # PostgreSQL refuses what SQLite stores (a NUL in text, an over-long string)
        url = request.getfixturevalue("postgres_url")
        empty_postgres(url)
    site = make_site(url)
    for name in ("sle-eligible", "sle-old-seizure", "srns-hepatitis-b"):
        post_bundle(site, new_candidate(site, cohort=None), example(name))
    for role in ROLES:
        site.client(role)
    yield site
    site.dispose()


def operations(site) -> list:
    schema = schemathesis.openapi.from_asgi("/openapi.json", site.app)
    out = [result.ok() for result in schema.get_all_operations()]
    return [op for op in out if (op.method.upper(), op.path) not in SKIP]


def send(site, case, number: str | None) -> None:
    if number and "number" in (case.path_parameters or {}):
        case.path_parameters["number"] = number
    for role in ROLES:
        client = site.client(role)
        headers = {"X-CSRF-Token": client.headers["X-CSRF-Token"], **(case.headers or {})}
        case.call_and_validate(headers=headers, cookies=dict(client.cookies), excluded_checks=NOT_CHECKED)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_api_conforms_to_its_schema_for_every_role(fuzz_site, mode):
    ops, ran = operations(fuzz_site), 0
    assert len(ops) >= 15
    for op in ops:
        @given(case=op.as_strategy(generation_mode=mode), number=NUMBERS)
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case, number):
            send(fuzz_site, case, number)

        try:
            run()
            ran += 1
        except Unsatisfiable:  # an operation without parameters or body has no invalid requests
            assert mode is GenerationMode.NEGATIVE, op.label
    assert ran >= len(ops) // 2


# -- what the first runs found, pinned ---------------------------------------------------------

def test_every_api_operation_documents_its_error_answers(fuzz_site):
    spec = fuzz_site.client("monitor").get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            assert path.startswith("/api/"), path  # pages are not in the schema
            for status in ("400", "401", "403", "404", "409", "413", "422", "429"):
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path, status)


def test_an_app_error_and_a_validation_error_both_fit_the_problem_schema(fuzz_site):
    co = fuzz_site.client("coordinator")
    app_error = co.post("/api/candidates", json={"cohort": "XYZ"})
    assert app_error.status_code == 422 and isinstance(app_error.json()["detail"], str)
    schema_error = co.post("/api/candidates", json={"cohort": 5})
    assert schema_error.status_code == 422 and schema_error.json()["detail"][0]["loc"] == ["body", "cohort"]


def test_the_bundle_export_is_documented_as_fhir_json(fuzz_site):
    spec = fuzz_site.client("monitor").get("/openapi.json").json()
    assert "application/fhir+json" in spec["paths"]["/api/candidates/{number}/bundle"]["get"]["responses"]["200"][
        "content"]
    r = fuzz_site.client("monitor").get("/api/candidates/S-0001/bundle")
    assert r.headers["content-type"].startswith("application/fhir+json")


def test_the_user_name_rule_is_in_the_schema(fuzz_site):
    spec = fuzz_site.client("admin").get("/openapi.json").json()
    assert spec["components"]["schemas"]["UserCreate"]["properties"]["username"]["pattern"]
    r = fuzz_site.client("admin").post("/api/users", json={"username": "Bad Name", "role": "monitor",
                                                           "password": "long-enough-1"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "username"]
