"""Start-up as a visitor feels it: a fresh `streamlit run app.py`, a real browser, nothing cached.

For each repeat, on a new server process and a free localhost port:
  - server up: seconds from launching `streamlit run` to `/_stcore/health` answering;
  - home: seconds from launching the server to the Home page served and finished running (the app reports
    script state "notRunning" and the "Play a new piece" button is visible);
  - first generation: seconds from the first click on that button to an audio player with a source.
Side by side, alternating with it, the same is measured for a bare Streamlit app (st.navigation, a title, a
paragraph and the same button, no musicrnn code): what Streamlit and the browser cost before any of ours.
The browser (Debian's Chromium, headless, driven by Playwright) starts before the clock and is reused;
each repeat gets a fresh browser context. Waits are on the app's own state, never fixed sleeps.

With `--style "Folk tunes"` the style is chosen on Home before the click (the clock starts at the click).

    python bench/startup.py [--repeats 3] [--quick] [--style "Folk tunes"]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from common import ROOT, machine, machine_line, print_json, table

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUTTON = "Play a new piece"
AUDIO = '[data-testid="stAudio"], audio'
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
TARGET_HOME_S = 3.0
TARGET_GENERATE_S = 2.0
TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BARE_APP = f"""
import streamlit as st

st.set_page_config(page_title="bare", layout="wide")
home = st.Page(lambda: (st.title("bare"), st.markdown("A paragraph."), st.button({BUTTON!r}, type="primary")),
               title="Home", url_path="home", default=True)
st.navigation([home, st.Page(lambda: st.title("other"), title="Other", url_path="other")]).run()
"""


def streamlit_command(port: int, script: Path = ROOT / "app.py", options: tuple[str, ...] = ()) -> list[str]:
    """`streamlit run` on a free port, headless; `options`: more command-line settings ("--server.x", "value")."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        *options,
    ]


@contextmanager
def streamlit_server(
    port: int, log_path: Path | None = None, script: Path = ROOT / "app.py", options: tuple[str, ...] = ()
):
    """A fresh server process in its own process group; stopped (by its own id) on exit."""
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    server = subprocess.Popen(
        streamlit_command(port, script, options),
        cwd=script.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield server
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        if log_path:
            log.close()


def wait_healthy(port: int, server: subprocess.Popen, timeout: float = TIMEOUT_S) -> None:
    """Poll /_stcore/health until it answers 200 (a connection refused means: not listening yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode} before answering")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.02)  # a polling interval, not a wait for the app
    raise TimeoutError("the server did not answer /_stcore/health")


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def measure_once(
    browser, generate: bool, log_path: Path | None = None, script: Path = ROOT / "app.py", style: str = ""
) -> dict:
    """One fresh server: seconds to healthy, to Home finished, and from the first click to audio."""
    port = free_port()
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    result: dict = {}
    try:
        started = time.perf_counter()
        with streamlit_server(port, log_path, script) as server:
            wait_healthy(port, server)
            result["server_up_s"] = time.perf_counter() - started
            page.goto(f"http://127.0.0.1:{port}/")
            button = page.get_by_role("button", name=BUTTON)
            button.wait_for(state="visible")
            page.wait_for_selector(APP_IDLE)
            result["home_s"] = time.perf_counter() - started
            if generate and style:  # Home's style choice (a segmented control); only that style's model is read
                page.get_by_role("radio", name=style, exact=True).click()
                page.wait_for_selector(APP_IDLE)
            if generate:
                clicked = time.perf_counter()
                button.click()
                page.locator(AUDIO).first.wait_for(state="attached")
                page.wait_for_function(
                    "() => [...document.querySelectorAll('audio')].some(a => a.currentSrc || a.getAttribute('src'))"
                )
                result["first_generation_s"] = time.perf_counter() - clicked
                page.wait_for_selector(APP_IDLE)
                result["first_generation_run_finished_s"] = time.perf_counter() - clicked
    finally:
        context.close()
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--log-dir", help="keep each server's output here")
    parser.add_argument("--style", default="", help="choose this style on Home before generating (its title)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 1
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    print("Start-up benchmark —", machine_line(), flush=True)
    runs = []
    log_dir = Path(args.log_dir) if args.log_dir else None
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="bare-streamlit-") as bare_dir:
        bare_app = Path(bare_dir) / "bare_app.py"
        bare_app.write_text(BARE_APP)
        browser = launch_browser(playwright)
        try:
            for repeat in range(args.repeats):
                run = measure_once(
                    browser,
                    generate=True,
                    log_path=log_dir / f"startup-{repeat}.log" if log_dir else None,
                    style=args.style,
                )
                bare = measure_once(browser, generate=False, script=bare_app)
                run["bare_streamlit_up_s"], run["bare_streamlit_home_s"] = bare["server_up_s"], bare["home_s"]
                runs.append(run)
                print(f"  run {repeat + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in run.items()), flush=True)
        finally:
            browser.close()

    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    ours_over_bare = statistics.median(run["home_s"] - run["bare_streamlit_home_s"] for run in runs)
    rows = [
        ["server answers /_stcore/health", f"{medians['server_up_s']:.2f}", ""],
        [
            "Home served and finished running",
            f"{medians['home_s']:.2f}",
            f"< {TARGET_HOME_S:.0f} s: " + ("met" if medians["home_s"] < TARGET_HOME_S else "NOT met"),
        ],
        ["  bare Streamlit app, same measure (baseline)", f"{medians['bare_streamlit_home_s']:.2f}", ""],
        ["  musicrnn's own share (Home − bare, per run)", f"{ours_over_bare:.2f}", ""],
        [
            f"first '{BUTTON}' click → audio",
            f"{medians['first_generation_s']:.2f}",
            f"< {TARGET_GENERATE_S:.0f} s: "
            + ("met" if medians["first_generation_s"] < TARGET_GENERATE_S else "NOT met"),
        ],
        ["  … and the run finished", f"{medians['first_generation_run_finished_s']:.2f}", ""],
    ]
    print()
    print(table(rows, ["from a fresh `streamlit run app.py`", f"seconds (median of {len(runs)})", "target"]))
    summary = {
        "benchmark": "startup",
        "machine": machine(),
        "repeats": len(runs),
        **medians,
        "home_over_bare_s": ours_over_bare,
        "runs": runs,
        "home_target_met": medians["home_s"] < TARGET_HOME_S,
        "generation_target_met": medians["first_generation_s"] < TARGET_GENERATE_S,
    }
    print_json(summary)
    return summary


if __name__ == "__main__":
    main()
