"""Every page opens by its own address, on a fresh server as on a warm one, and the dataset reaches Explore."""

import pytest
from helpers_browser import assert_no_exception, go_to, metric, metric_value, plotly_points, settle, table_rows, upload

from ui.nav import HOME_ADDRESS, SPECS

# Every address a visitor can type: each page's own, and Home's /home (its url_path is reserved: see ui/nav.py).
URL_PATHS = [HOME_ADDRESS if name == "home" else spec.url_path for name, spec in SPECS.items()]
# What only each page draws; a page added later (e.g. how_it_works) is checked for its title and no exception.
SHOWS = {
    "home": "Play a new piece",
    "dataset": "Usable files",
    "explore": '[data-testid="stPlotlyChart"]',
    "train": "Start training",
    "generate": "Variations",
}


def expected(page, url_path: str):
    shows = SHOWS.get(url_path)
    if shows is None:
        return page.locator("h1").first
    return page.locator(shows).first if shows.startswith("[") else page.get_by_text(shows, exact=True).first


@pytest.mark.timeout(300)
def test_every_page_opens_by_deep_link_first_on_a_fresh_server(fresh_server, open_page):
    assert {"home", "dataset", "explore", "train", "generate"} <= set(URL_PATHS), URL_PATHS
    # The first request this server ever gets is a deep link to a page other than Home.
    order = ["train", *[path for path in URL_PATHS if path != "train"]]
    for url_path in order:
        page = open_page(url_path, on=fresh_server)
        settle(page, expected(page, url_path))
        # The default page's address is the root: /home shows Home at /.
        address = "" if url_path == "home" else f"/{url_path}"
        assert page.url.rstrip("/") == fresh_server.url + address, page.url
        # No "Page not found" dialog in the way (/home showed one: Streamlit serves the default page at /).
        assert page.get_by_role("dialog").count() == 0, f"{url_path}: {page.get_by_role('dialog').inner_text()}"
        active = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')
        assert active.count() == 1, f"{url_path}: {active.count()} current pages in the sidebar"
        assert active.get_attribute("href").rstrip("/") == fresh_server.url + address, active.get_attribute("href")
        page.context.close()


def test_uploaded_files_are_listed_with_ok_or_the_reason(open_page, midi_files, tmp_path):
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x01\x00\x90\x3c")  # cut off
    good = midi_files(2)
    page = open_page("dataset", expect="Usable files")
    upload(page, [*good, broken])
    settle(page, page.get_by_text("These files are not used"))
    assert metric(page, "Usable files") == "2"
    assert metric(page, "Refused files") == "1"
    rows = {row[0]: row[1] for row in table_rows(page, showing="broken.mid")}
    assert rows["tune1.mid"] == "OK" and rows["tune2.mid"] == "OK", rows
    assert rows["broken.mid"] not in ("", "OK"), rows
    assert "broken.mid" in page.locator('[data-testid="stAlertContentError"]').inner_text()


def test_explore_draws_the_piano_roll_of_an_uploaded_file(open_page, midi_files):
    page = open_page("dataset", expect="Usable files")
    upload(page, midi_files(2, notes=40), usable=2)
    go_to(page, "Explore", page.locator('[data-testid="stPlotlyChart"]').first)
    roll = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="tune1.mid · 40 notes")
    roll.wait_for()
    assert plotly_points(roll) == [40]  # one bar per note
    assert roll.locator(".trace.bars .point").count() == 40  # drawn in the picture
    assert_no_exception(page)


def test_two_visitors_keep_separate_datasets(open_page, midi_files):
    mine = open_page("dataset", expect="Usable files")
    theirs = open_page("dataset", expect="Usable files")
    bundled = metric(theirs, "Usable files")
    assert int(bundled) > 100  # the bundled chorales
    upload(mine, midi_files(2, notes=30), usable=2)
    # The other visitor's session runs again and still has the bundled corpus.
    go_to(theirs, "Explore", theirs.locator('[data-testid="stPlotlyChart"]').first)
    assert theirs.locator(".gtitle").first.text_content().startswith("bwv")
    go_to(theirs, "Dataset", theirs.get_by_text("Usable files"))
    assert metric(theirs, "Usable files") == bundled
    go_to(mine, "Explore", mine.locator('[data-testid="stPlotlyChart"]').first)
    assert mine.locator(".gtitle").first.text_content().startswith("tune1.mid")


def test_pages_fetch_nothing_from_other_servers_and_the_icon_ships_with_the_app(server, browser):
    """Offline and for privacy: the favicon (once a material icon from a font server) and all else come from the app."""
    context = browser.new_context()
    page = context.new_page()
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith((server.url, "data:", "blob:")) else elsewhere.append(request.url)
        ),
    )
    try:
        page.goto(f"{server.url}/dataset")
        settle(page, "Usable files")
        page.locator('link[rel~="icon"]').first.wait_for(state="attached")
        icon = page.locator('link[rel~="icon"]').first.get_attribute("href")
        assert icon.startswith(("/", server.url)) and "gstatic" not in icon, icon
        assert not elsewhere, elsewhere
    finally:
        context.close()


def test_uploads_in_two_goes_with_a_page_switch_between_add_up_and_one_can_be_removed(open_page, midi_files):
    first, second = midi_files(2, notes=30), midi_files(1, notes=31, prefix="later")
    page = open_page("dataset", expect="Usable files")
    upload(page, first, usable=2)
    go_to(page, "Explore", page.locator('[data-testid="stPlotlyChart"]').first)
    go_to(page, "Dataset", "Usable files")
    upload(page, second, usable=3)  # added to the earlier two, not replacing them
    page.get_by_role("button", name="Remove").nth(1).click()  # tune2.mid
    settle(page, metric_value(page, "Usable files", showing="2"))
    assert page.get_by_text("tune2.mid · ").count() == 0


def test_a_second_click_on_the_chosen_style_keeps_it(open_page):
    """Found in a walk: clicking the chosen style again unselected it, and Home played the chorales."""
    page = open_page("home", expect="Play a new piece")
    for _ in range(2):
        page.get_by_text("Folk tunes", exact=True).click()
        settle(page)
    page.get_by_role("button", name="Play a new piece").click()
    settle(page, page.get_by_text("Folk tunes: ", exact=False), timeout_s=120)
    assert page.get_by_text("Bach chorales: ", exact=False).count() == 0
