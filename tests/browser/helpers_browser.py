"""Helpers for the browser tests: wait for the app to finish running, switch pages, read what it shows."""

from __future__ import annotations

import re

RUN_TIMEOUT_S = 90  # one page run, including first-time loads of the corpus and model on a busy 2-core machine
TRAIN_TIMEOUT_S = 120  # TensorFlow's first import, data preparation and one tiny epoch
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def settle(page, expect=None, timeout_s: float = RUN_TIMEOUT_S) -> None:
    """Wait until the expected element is visible and the app has finished running; fail on an exception.

    After a click the app may still report "notRunning" for a moment before the rerun starts, so the
    expected element (a text or a locator that only the new run draws) is what proves the run happened.
    """
    if expect is not None:
        locator = page.get_by_text(expect).first if isinstance(expect, str) else expect
        locator.wait_for(state="visible", timeout=timeout_s * 1000)
    page.wait_for_selector(APP_IDLE, timeout=timeout_s * 1000)
    assert_no_exception(page)


def assert_no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    if exceptions.count():
        raise AssertionError(f"the app showed an exception:\n{exceptions.first.inner_text()[:2000]}")


def go_to(page, title: str, expect=None) -> None:
    """Switch page with the sidebar navigation (the same Streamlit session, like a visitor clicking)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    settle(page, expect)


def metric(page, label: str) -> str:
    """The value shown by st.metric with this label."""
    return metric_value(page, label).inner_text().strip()


def metric_value(page, label: str, showing: str | None = None):
    """Locator of st.metric's value; with `showing`, only while it shows exactly that (to wait for it)."""
    box = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    value = box.locator('[data-testid="stMetricValue"]')
    return value if showing is None else value.filter(has_text=re.compile(f"^{re.escape(showing)}$"))


def table_rows(page, showing: str, index: int = 0) -> list[list[str]]:
    """Rows of the page's index-th st.dataframe once a cell shows `showing` (the grid redraws after the run).

    Read from the grid's accessibility table (the grid itself is a canvas), which holds the rows in view:
    enough for the few rows the tests show.
    """
    grid = page.locator('[data-testid="stDataFrame"]').nth(index).locator("table[role=grid]")
    grid.locator("td", has_text=showing).first.wait_for(state="attached")
    rows = grid.locator("tbody tr")
    return [row.locator("td").all_text_contents() for row in rows.all()]


def upload(page, paths, usable: int | None = None) -> None:
    """Choose files in the Dataset page's file chooser, as a visitor picking them in the dialog does.

    With `usable`, wait until the page counts that many usable files: switching pages before that run
    ends would interrupt it before it keeps the files.
    """
    page.get_by_text("My own MIDI files").click()
    chooser = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    chooser.wait_for(state="attached")
    chooser.set_input_files([str(path) for path in paths])
    for path in paths:  # listed among the kept uploads (the uploader itself empties once they are kept)
        page.get_by_text(f"{path.name} · ", exact=False).first.wait_for()
    if usable is not None:
        settle(page, metric_value(page, "Usable files", showing=str(usable)))


def plotly_points(chart) -> list[int]:
    """Points plotly computed for each trace of the chart (its `calcdata`, what it draws)."""
    return chart.locator(".js-plotly-plot").evaluate("plot => (plot.calcdata || []).map(trace => trace.length)")


def copied_link(page, server_url: str) -> str:
    """Press the last "Copy link" button on the page, as a visitor does, and read the link off the clipboard."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server_url)
    frame = page.frame_locator("iframe").last
    frame.get_by_role("button", name="Copy link").click()
    frame.get_by_text("Copied").wait_for()
    return page.evaluate("navigator.clipboard.readText()")
