"""A harmonisation's link, copied in one browser session and opened in another, makes the same MIDI file."""

from pathlib import Path

import pytest
from helpers_browser import assert_no_exception, copied_link, settle

pytestmark = pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / "musicrnn" / "assets" / "default_model.keras").exists(),
    reason="the bundled default model is missing (make default-model makes it)",
)


def first_midi(page) -> bytes:
    with page.expect_download() as download:
        page.get_by_role("button", name="Download MIDI").first.click()
    return Path(download.value.path()).read_bytes()


def test_a_copied_harmonisation_link_makes_the_same_midi_in_a_new_session(open_page, server):
    page = open_page("steer", expect="Harmonise")
    page.get_by_role("button", name="Harmonise", exact=True).click()
    settle(page, page.get_by_role("heading", name="Harmonisation 2"))
    url = copied_link(page, server.url)
    assert url.startswith(server.url + "/steer?v=2&model=default") and "kind=harmonize" in url, url

    again = open_page(url.removeprefix(server.url + "/"), expect="Harmonisation 2")
    assert_no_exception(again)
    assert first_midi(again) == first_midi(page)
