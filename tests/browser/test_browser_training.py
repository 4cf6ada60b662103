"""A tiny training through the Train page: the loss chart grows, and the job survives a page switch."""

import pytest
from helpers_browser import TRAIN_TIMEOUT_S, go_to, settle, upload

LOSS_CHART = '[data-testid="stPlotlyChart"]'


def wait_for_more_points(page, count: int) -> int:
    """Wait until the loss chart holds more than `count` points; return how many it holds then.

    The count is read in the same browser call that sees it: the fragment redraws the chart every second,
    so a second look could land on a chart that plotly has not filled in yet.
    """
    found = page.wait_for_function(
        f"() => {{ const plot = document.querySelector('{LOSS_CHART} .js-plotly-plot');"
        f" const n = plot && plot.calcdata ? plot.calcdata.reduce((n, t) => n + t.length, 0) : 0;"
        f" return n > {count} ? n : false; }}",
        timeout=TRAIN_TIMEOUT_S * 1000,
    )
    return int(found.json_value())


@pytest.mark.timeout(300)
def test_tiny_training_draws_losses_and_survives_a_page_switch(open_page, midi_files):
    # A few files of 9000 notes and small batches: ~50 loss reports over an epoch of ten seconds or more, so
    # the chart is drawn (every second) both before and after more points arrive. (With 3000 notes the epoch
    # could end before the test first read the chart, and then no point would ever come.)
    page = open_page("dataset", expect="Usable files")
    upload(page, midi_files(4, notes=9000), usable=4)
    go_to(page, "Train", "Start training")
    # With uploads the first choice is fine-tuning a bundled model; a new network is one click away.
    page.get_by_text("A new network", exact=True).click()
    settle(page, page.get_by_role("combobox", name="Preset"))
    assert page.get_by_role("combobox", name="Preset").input_value() == "tiny"
    page.get_by_text("Advanced", exact=True).click()  # epochs and batch size wait there
    for label, value in (("Passes through the music (at most)", "1"), ("Batch size", "16")):
        box = page.get_by_role("spinbutton", name=label, exact=True)
        box.fill(value)
        box.press("Enter")  # sets the value; never starts a run (issue 16)
        settle(page)
    assert page.get_by_role("button", name="Stop training").count() == 0
    page.get_by_role("button", name="Start training").click()
    stop = page.get_by_role("button", name="Stop training")
    stop.wait_for(timeout=TRAIN_TIMEOUT_S * 1000)

    # The chart appears while the job runs, then gains points (or the job ends with more than it first had).
    page.locator(LOSS_CHART).first.wait_for(timeout=TRAIN_TIMEOUT_S * 1000)
    first = wait_for_more_points(page, 0)  # plotly fills the chart a moment after its element appears
    before_switch = wait_for_more_points(page, first)
    assert before_switch > first >= 1

    go_to(page, "Generate", page.get_by_text("Variations", exact=True))
    go_to(page, "Train", page.locator(LOSS_CHART).first)
    # Same job: its chart kept every point (a new job would start from an empty chart).
    assert wait_for_more_points(page, before_switch - 1) >= before_switch
    settle(page, page.get_by_text("1 pass through your music ("), timeout_s=TRAIN_TIMEOUT_S)
    assert page.get_by_text("Done in", exact=False).count() == 1
    assert page.get_by_text("Your models").count() == 1  # the run is listed
    assert wait_for_more_points(page, before_switch - 1) >= before_switch
    # Generate, opened from the menu, plays the run just trained, from one of the visitor's own files.
    go_to(page, "Generate", page.get_by_text("Variations", exact=True))
    assert page.get_by_role("radio", name="tiny on 4 files #1").is_checked()
    assert page.get_by_role("radio", name="A file from my dataset").is_checked()
