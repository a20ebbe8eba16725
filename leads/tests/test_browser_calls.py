"""The calls pages clicked through in Chromium against a live server: a call's
dialogue and recording player, the list's search and its export."""

import csv
import datetime
import io

import pytest
from playwright.sync_api import expect

from campaigns.tests.factories import make_campaign
from leads.tests.factories import make_call, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

at = datetime.datetime.fromisoformat


def test_operator_finds_a_call_reads_its_dialogue_plays_it_and_exports_the_list(signed_in):
    campaign = make_campaign(name="Spring")
    ana = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana García"})
    other = make_lead(campaign=campaign, primary="+13055550103", variables={"customer_name": "Ben"})
    make_call(other, placed_at=at("2026-12-01T09:00:00Z"), outcome="completed", summary="Not Ana.")
    make_call(
        ana,
        placed_at=at("2026-12-01T10:00:00Z"),
        outcome="completed",
        duration_seconds=42,
        summary="Booked for Tuesday.",
        disposition="booked",
        recording_url="https://rec.example.com/ana.mp3",
        transcript=[
            {"role": "agent", "text": "Hello, is this Ana?", "at": 0.5},
            {"role": "callee", "text": "Yes, <b>speaking</b>.", "at": 2.1},
            {"role": "agent", "text": "Shall we book Tuesday?", "at": 64},
        ],
        extracted_variables={"appointment": "Tuesday"},
    )

    page = signed_in
    page.goto("/admin/leads/call/")
    page.fill("#searchbar", "415 555 0101")
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("+14155550101 · Ana García")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    with open(download.value.path(), encoding="utf-8") as handle:
        content = handle.read()
    header, *lines = list(csv.reader(io.StringIO(content)))
    assert len(lines) == 1 and "result_appointment" in header
    assert dict(zip(header, lines[0]))["summary"] == "Booked for Tuesday."

    rows.first.locator("th a, td a").first.click()
    expect(page.locator("h2").first).to_be_visible()
    dialogue = page.get_by_role("region", name="Transcript")
    turns = dialogue.locator("li")
    expect(turns).to_have_count(3)
    expect(turns.nth(0)).to_have_class("call-turn call-turn-agent")
    expect(turns.nth(1)).to_have_class("call-turn call-turn-callee")
    expect(turns.nth(1)).to_contain_text("Callee")
    expect(turns.nth(1)).to_contain_text("0:02")
    expect(turns.nth(1)).to_contain_text("Yes, <b>speaking</b>.")  # shown as text, not markup
    expect(turns.nth(2)).to_contain_text("1:04")
    # Agent and callee look different, not only by their label.
    agent_style = turns.nth(0).evaluate("e => getComputedStyle(e).borderLeftColor + getComputedStyle(e).marginLeft")
    callee_style = turns.nth(1).evaluate("e => getComputedStyle(e).borderLeftColor + getComputedStyle(e).marginLeft")
    assert agent_style != callee_style
    assert dialogue.evaluate("e => getComputedStyle(e).overflowY") == "auto"

    audio = page.locator("audio.call-recording")
    expect(audio).to_have_count(1)
    assert audio.evaluate("e => e.controls") is True
    assert audio.evaluate("e => e.src") == "https://rec.example.com/ana.mp3"
    expect(page.locator(".field-disposition")).to_contain_text("booked")
