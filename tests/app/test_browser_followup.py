"""The follow-up end to end in a real headless Chromium (as ``test_browser.py``), on SQLite and PostgreSQL.

An eligible, signed SLE candidate (set up through the API) is enrolled by the investigator on the review
page; then, with the clock moved to each day, the coordinator enters lymphodepletion and the CAR-NK dose,
a CRS episode on day 1 (fever and low-flow oxygen: ASTCT grade 2, computed) and the day-28 labs with an
ALT of 5.5 x ULN (CTCAE grade 3); the investigator records the CRS as an adverse event. The subject page
shows the CRS grade, the lab toxicity and the timeline figure; the cohort page's exports hold the AE row
(AE.csv) and the flagged ALT row (LB.csv). Screenshots go to ``artifacts/e2e/``.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, timezone
from xml.etree import ElementTree

from .browser import browser, live_site, log_in, log_out, shot  # noqa: F401  (fixtures)
from .test_milestones import male_sle, signed_candidate

INFUSION = date(2026, 3, 12)


def day(n: int) -> str:
    return (INFUSION + timedelta(days=n)).isoformat()


def on_day(site, page, base: str, n: int, role: str, url: str) -> None:
    """Move the clock to protocol day ``n`` and open the subject page as ``role`` (the idle session expired)."""
    site.clock.now = datetime.combine(INFUSION + timedelta(days=n), datetime.min.time(), timezone.utc) \
        + timedelta(hours=9)
    log_in(page, base, role)
    page.goto(url)


def add_dose(page, url: str, kind: str, agent: str, dose: str, unit: str, when: str, lot: str) -> None:
    """Fill the dosing form and wait for the saved page."""
    form = page.locator("#followup-doses")
    form.get_by_label("Kind").select_option(kind)
    form.get_by_label("Agent").fill(agent)
    form.get_by_label("Dose", exact=True).fill(dose)
    form.get_by_label("Dose unit").fill(unit)
    form.get_by_label("Dose date").fill(when)
    form.get_by_label("Lot").fill(lot)
    form.get_by_role("button", name="Add dose").click()
    page.wait_for_url(f"{url}#followup-doses")


def test_enrollment_to_day_28_with_crs_and_a_lab_toxicity(browser, live_site, database_url, tmp_path):
    base, site = live_site
    number = signed_candidate(site, male_sle(), enrollment="2026-03-04", infusion=INFUSION.isoformat())
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    url = f"{base}/candidates/{number}/followup"

    # enrollment: the investigator enrolls on the review page; the follow-up page shows the schedule
    log_in(page, base, "investigator")
    page.goto(f"{base}/candidates/{number}/review")
    enroll = page.locator("form[action$='/enroll']")
    enroll.get_by_label("Subject id").fill("CARNK-SLE-001")
    enroll.get_by_role("button", name="Enroll").click()
    page.goto(f"{base}/candidates/{number}")
    page.locator("#followup-link").click()
    page.wait_for_url(url)
    assert "upcoming" in page.locator("#visit-d28").inner_text()
    log_out(page)

    # day -5: lymphodepletion
    on_day(site, page, base, -5, "coordinator", url)
    add_dose(page, url, "lymphodepletion", "fludarabine", "30", "mg/m2", day(-5), "FLU-2511")
    assert "fludarabine" in page.locator("#doses").inner_text()

    # day 0: the CAR-NK infusion
    on_day(site, page, base, 0, "coordinator", url)
    add_dose(page, url, "car-nk", "anti-CD19 CAR-NK", "2e9", "cells", day(0), "KN-0007")
    assert "KN-0007" in page.locator("#doses").inner_text()

    # day 1: a CRS episode, graded by the application (fever + low-flow oxygen = grade 2)
    on_day(site, page, base, 1, "coordinator", url)
    form = page.locator("#followup-crs-icans")
    form.get_by_label("Visit").select_option("d1")
    form.get_by_label("Date", exact=True).fill(day(1))
    form.get_by_label("Fever").select_option("yes")
    form.get_by_label("Hypotension").select_option("none")
    form.get_by_label("Hypoxia").select_option("low-flow")
    form.get_by_role("button", name="Save CRS/ICANS assessment").click()
    page.wait_for_url(f"{url}#followup-crs-icans")
    assert "grade 2" in page.locator(f"#graded-crs-{day(1)}").inner_text()
    assert "grade 2" in page.locator("#safety-worst-crs").inner_text()
    log_out(page)

    # day 28: the visit's labs, with an ALT of 220 U/L (upper limit 40: 5.5 x ULN)
    on_day(site, page, base, 28, "coordinator", url)
    form = page.locator("#followup-visit")
    form.get_by_label("Visit").select_option("d28")
    form.get_by_label("Date", exact=True).fill(day(28))
    form.get_by_label("Temperature (C)").fill("36.8")
    form.get_by_label("Alanine aminotransferase value").fill("220")
    form.get_by_label("Alanine aminotransferase upper limit").fill("40")
    form.get_by_label("CD19+ B cells value").fill("2")
    form.get_by_role("button", name="Save visit").click()
    page.wait_for_url(f"{url}#followup-visit")
    assert "grade 3" in page.locator(f"#lab-grade-alt-{day(28)}").inner_text()
    assert "done" in page.locator("#visit-d28").inner_text()
    log_out(page)

    # the investigator records the CRS as an adverse event
    on_day(site, page, base, 28, "investigator", url)
    form = page.locator("#followup-adverse-events")
    form.get_by_label("CTCAE term").fill("Cytokine release syndrome")
    form.get_by_label("Grade").select_option("2")
    form.get_by_label("Onset").fill(day(1))
    form.get_by_label("Resolved (empty: ongoing)").fill(day(3))
    form.get_by_label("Related").select_option("yes")
    form.get_by_role("button", name="Add adverse event").click()
    page.wait_for_url(f"{url}#followup-adverse-events")
    assert "Cytokine release syndrome" in page.locator("#adverse-events").inner_text()

    # the timeline: the figure loads; its SVG marks the CRS grade, the ALT grade and the adverse event
    page.goto(url)
    page.locator("#timeline-img").scroll_into_view_if_needed()
    page.wait_for_function("document.getElementById('timeline-img').complete")
    assert page.evaluate("document.getElementById('timeline-img').naturalWidth") > 300
    with page.expect_download() as got:
        page.locator("#timeline-svg").click()
    svg = open(got.value.path(), encoding="utf-8").read()
    assert ElementTree.fromstring(svg).tag.endswith("svg")
    for label in ("G2", "ALT G3", "Cytokine release syndrome G2"):  # text drawn as paths is also a comment
        assert f"<!-- {label} -->" in svg, label
    assert "grade 3" in page.locator("#safety-worst-lab").inner_text()
    shot(page, "followup-subject", database_url)

    # the exports: the AE row and the flagged ALT row
    page.goto(f"{base}/followup")
    assert "CARNK-SLE-001" in page.locator("#cohort-subjects").inner_text()
    shot(page, "followup-cohort", database_url)
    with page.expect_download() as got:
        page.locator("#export-ae").click()
    [ae] = list(csv.DictReader(open(got.value.path(), encoding="utf-8")))
    assert ae["AETERM"] == "Cytokine release syndrome" and ae["AETOXGR"] == "2" and ae["AEREL"] == "RELATED"
    with page.expect_download() as got:
        page.locator("#export-lb").click()
    lb = {r["LBTESTCD"]: r for r in csv.DictReader(open(got.value.path(), encoding="utf-8"))}
    assert lb["ALT"]["LBNRIND"] == "HIGH" and lb["ALT"]["LBTOXGR"] == "3" and lb["ALT"]["VISIT"] == "d28"
    context.close()
