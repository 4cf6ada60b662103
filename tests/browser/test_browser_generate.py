"""Generating with the default model: playable audio for each variation and a MIDI file that parses."""

import io
from pathlib import Path

import pretty_midi
import pytest
from helpers_browser import copied_link, settle
from playwright.sync_api import expect

pytestmark = pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / "musicrnn" / "assets" / "default_model.keras").exists(),
    reason="the bundled default model is missing (make default-model makes it)",
)


def test_two_variations_play_and_download_as_midi(open_page):
    page = open_page("generate", expect="Variations")
    variations = page.locator('[data-testid="stSlider"]').filter(has_text="Variations")
    thumb, shown = variations.get_by_role("slider"), variations.locator('[data-testid="stSliderThumbValue"]')
    thumb.focus()
    for _ in range(10):  # keyboard steps, as a visitor can; the default is 3
        if shown.inner_text().strip() == "2":
            break
        thumb.press("ArrowLeft")
    assert shown.inner_text().strip() == "2"
    settle(page)
    page.get_by_role("button", name="Generate", exact=True).click()
    settle(page, page.get_by_role("heading", name="Variation 2"))
    assert page.get_by_role("heading", name="Variation 3").count() == 0

    players = page.locator("audio")
    expect(players).to_have_count(2, timeout=30_000)  # each player is drawn once its audio is rendered
    for player in players.all():
        source = player.evaluate("audio => audio.currentSrc || audio.src")
        answer = page.request.get(source)
        assert answer.ok, (source, answer.status)
        wav = answer.body()
        assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE" and len(wav) > 1000, (source, len(wav))
        # The browser itself can decode it: it knows the duration once the metadata has loaded.
        player.evaluate("audio => audio.load()")
        page.wait_for_function("audio => audio.duration > 0 && isFinite(audio.duration)", arg=player.element_handle())

    with page.expect_download() as download:
        page.get_by_role("button", name="Download MIDI").first.click()
    assert download.value.suggested_filename.endswith(".mid")
    midi = pretty_midi.PrettyMIDI(io.BytesIO(Path(download.value.path()).read_bytes()))
    notes = sum(len(instrument.notes) for instrument in midi.instruments)
    assert notes >= 60, notes  # at most 120 notes: the model may end the piece on the tonic in the last third


def test_copy_link_puts_the_link_on_the_clipboard_and_says_copied(open_page, server):
    page = open_page("generate", expect="Variations")
    page.get_by_role("button", name="Generate", exact=True).click()
    settle(page, page.get_by_role("heading", name="Variation 1"))
    copied = copied_link(page, server.url)
    assert copied.startswith(server.url + "/generate?v=1&model=default"), copied


def test_the_default_model_writes_four_voice_tracks_as_a_string_quartet_and_a_part_hides_from_the_roll(open_page):
    page = open_page("generate", expect="Voices played by")
    page.get_by_role("button", name="Generate", exact=True).click()
    settle(page, page.get_by_role("heading", name="Variation 1"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Download MIDI").first.click()
    midi = pretty_midi.PrettyMIDI(io.BytesIO(Path(download.value.path()).read_bytes()))
    programs = {instrument.name: instrument.program for instrument in midi.instruments}
    assert programs == {"Soprano": 40, "Alto": 40, "Tenor": 41, "Bass voice": 42}, programs  # violins, viola, cello
    # The roll's legend: one entry per part; clicking one hides that part (plotly greys the entry out).
    roll = page.locator(".js-plotly-plot").first
    entry = roll.locator(".legend .traces").filter(has_text="Bass voice")
    expect(roll.locator(".legend .traces")).to_have_count(4)  # waits: plotly draws the legend after the run
    entry.click()
    page.wait_for_function("e => getComputedStyle(e).opacity === '0.5'", arg=entry.element_handle())
