"""The Score tab in a real browser (issue 27): a generated piece and a harmonised hymn are drawn as sheet music
(an SVG image the browser decodes, with the staves asked for), and the hymn's MusicXML download holds the same
notes as its MIDI download."""

import base64
import io
from pathlib import Path

import pretty_midi
import pytest
from helpers_browser import settle

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (ROOT / "musicrnn" / "assets" / "default_model.keras").exists(),
    reason="the bundled default model is missing (make default-model makes it)",
)
SCREENSHOTS = ROOT / "test-output" / "browser"
HYMN = "G4/1 G4/1 F#4/1 E4/1 D4/2 G4/1 A4/1 B4/1 B4/1 B4/1 A4/1 G4/2"


def shown_score(page, index: int = 0):
    """The index-th engraved score once the browser has decoded it: (its image, its SVG text)."""
    image = page.locator('[data-testid="stImage"] img').nth(index)
    image.wait_for(state="visible")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    source = image.get_attribute("src")
    assert source.startswith("data:image/svg+xml;base64,"), source[:60]
    return image, base64.b64decode(source.split(",", 1)[1]).decode()


def staves(svg: str) -> int:
    from musicrnn.score import staff_count

    return staff_count(svg)


def test_a_generated_piece_is_shown_as_a_score_on_two_or_four_staves(open_page):
    page = open_page("generate", expect="Variations")
    page.get_by_role("button", name="Generate", exact=True).click()
    settle(page, page.get_by_role("heading", name="Variation 1"))
    page.get_by_role("tab", name="Score").first.click()
    image, svg = shown_score(page)
    settle(page)
    assert staves(svg) == 2
    assert image.bounding_box()["width"] > 600  # drawn across the page, not as a thumbnail
    page.get_by_text("Four staves", exact=True).first.click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stImage] img')].some(i => atob(i.src.split(',')[1])"
        ".split('class=\"measure\"')[1]?.split('class=\"staff\"').length === 5)"
    )
    settle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.screenshot(path=str(SCREENSHOTS / "score-generate.png"))


def test_a_harmonised_hymn_is_shown_as_a_score_and_its_musicxml_has_the_midis_notes(open_page):
    from music21 import converter

    page = open_page("steer", expect="Melody from")
    box = page.locator('[data-testid="stTextArea"]').filter(has_text="Melody").locator("textarea")
    box.fill(HYMN)
    box.press("Control+Enter")
    settle(page)
    page.get_by_role("button", name="Harmonise", exact=True).click()
    settle(page, page.get_by_role("heading", name="Harmonisation 1"))
    page.get_by_role("tab", name="Score").first.click()
    image, svg = shown_score(page)
    settle(page)
    assert staves(svg) == 2 and 'class="keySig"' in svg
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.screenshot(path=str(SCREENSHOTS / "score-steer.png"))

    with page.expect_download() as download:
        page.get_by_role("button", name="Download MusicXML").first.click()
    assert download.value.suggested_filename == "harmony-1.musicxml"
    score = converter.parse(Path(download.value.path()).read_bytes(), format="musicxml")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download MIDI").first.click()
    midi = pretty_midi.PrettyMIDI(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert [p.partName for p in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    from_score = sorted(  # each voice on its own before ties are joined (stripTies can join across voices)
        p.midi
        for part in score.parts
        for line in part.voicesToParts().parts
        for n in line.stripTies().flatten().notes
        for p in n.pitches
    )
    assert from_score == sorted(n.pitch for i in midi.instruments for n in i.notes)
    soprano = [n.pitch.midi for n in score.parts[0].stripTies().flatten().notes]
    assert soprano == [67, 67, 66, 64, 62, 67, 69, 71, 71, 71, 69, 67]  # the hymn, note for note
