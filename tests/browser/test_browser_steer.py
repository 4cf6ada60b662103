"""The Steer page in a real browser: a melody played on the on-screen keyboard is harmonised (audio and a roll
with the melody in its own colour); a bad melody token and an unknown chord are named on the page."""

from pathlib import Path

import pytest
from helpers_browser import settle
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (ROOT / "musicrnn" / "assets" / "default_model.keras").exists(),
    reason="the bundled default model is missing (make default-model makes it)",
)
SCREENSHOT = ROOT / "test-output" / "browser" / "steer-keyboard.png"


def melody_box(page):
    return page.locator('[data-testid="stTextArea"]').filter(has_text="Melody").locator("textarea")


def press(page, name: str, shows: str) -> None:
    """Click one on-screen key (or edit button) and wait until the melody text shows the result."""
    page.get_by_role("button", name=name, exact=True).click()
    expect(melody_box(page)).to_have_value(shows)
    settle(page)


def type_melody(page, text: str) -> None:
    box = melody_box(page)
    box.fill(text)
    box.press("Control+Enter")  # a text area commits its value on Ctrl+Enter (or on leaving it)
    settle(page)


def test_a_melody_played_on_the_keyboard_is_harmonised_with_audio_and_a_roll(open_page):
    page = open_page("steer", expect="Melody from")
    keyboard = page.get_by_role("group", name="On-screen keyboard")
    keyboard.wait_for()
    press(page, "Clear melody", "")
    melody_box(page).fill("G4/1")  # typed, not yet committed: a key press keeps it and adds to it
    press(page, "E4", "G4/1 E4/1")
    press(page, "D4", "G4/1 E4/1 D4/1")
    press(page, "F#4", "G4/1 E4/1 D4/1 F#4/1")
    press(page, "Backspace", "G4/1 E4/1 D4/1")
    page.get_by_role("radio", name="2 beats").click()
    press(page, "C4", "G4/1 E4/1 D4/1 C4/2")
    page.get_by_role("button", name="Octave up").click()
    press(page, "C6", "G4/1 E4/1 D4/1 C4/2 C6/2")  # the keys now start at C5
    press(page, "Backspace", "G4/1 E4/1 D4/1 C4/2")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_role("button", name="Harmonise", exact=True).click()
    settle(page, page.get_by_role("heading", name="Harmonisation 2"))
    players = page.locator('[role="tabpanel"]').first.locator("audio")  # the other tabs have players too
    assert players.count() == 2
    for player in players.all():
        answer = page.request.get(player.evaluate("audio => audio.currentSrc || audio.src"))
        assert answer.ok and answer.body()[:4] == b"RIFF", answer.status
    rolls = page.locator('[data-testid="stPlotlyChart"]')
    assert rolls.count() >= 2
    legend = rolls.first.locator(".legend .traces")
    expect(legend.filter(has_text="Melody")).to_have_count(1)


def test_a_bad_melody_token_is_named_next_to_the_button_which_waits(open_page):
    page = open_page("steer", expect="Melody from")
    type_melody(page, "C4/1 X9/1")
    settle(page, page.get_by_text("'X9/1'", exact=False))
    expect(page.get_by_role("button", name="Harmonise", exact=True)).to_be_disabled()


def test_an_unknown_chord_is_named(open_page):
    page = open_page("steer", expect="Melody from")
    page.get_by_role("tab", name="Follow chords").click()
    chords = page.locator('[data-testid="stTextInput"]').filter(has_text="Chords").locator("input")
    chords.fill("C Zm F")
    chords.press("Enter")
    settle(page, page.get_by_text("unknown chord 'Zm'", exact=False))
    expect(page.get_by_role("button", name="Generate with these chords")).to_be_disabled()
