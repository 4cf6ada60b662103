"""Real-browser tests: a `streamlit run app.py` server on a free localhost port, driven by Debian's Chromium.

One server and one browser per test session; each test gets fresh browser contexts (so fresh Streamlit
sessions). Tests wait on the app's own state (see `settle`), never a fixed time. On failure, a screenshot
of every page the test opened is saved under test-output/browser/. Helpers for the tests themselves
live in helpers_browser.py (a conftest module cannot be imported unambiguously).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers_browser import RUN_TIMEOUT_S, settle

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "browser"
CHROMIUM = os.environ.get("MUSICRNN_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google and is slow offline.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SERVER_START_S = 60


# ---- the server ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running `streamlit run app.py`; `used` turns True once a test has opened a page on it."""

    process: subprocess.Popen
    port: int
    log: Path
    used: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def start_server(log: Path) -> Server:
    """Start the app in its own process group and wait until /_stcore/health answers "ok"."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(process, port, log)
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as answer:
                if answer.read().decode().strip() == "ok":
                    return server
        except OSError:
            time.sleep(0.05)  # polling interval while the server is not listening yet
    stop_server(server)
    raise TimeoutError(f"streamlit did not answer /_stcore/health within {SERVER_START_S} s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    """Stop the server we started, by its own process id (and its group: nothing else has that id)."""
    if server.process.poll() is not None:
        return
    os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()


@pytest.fixture(scope="session")
def server():
    running = start_server(SCREENSHOTS / "server.log")
    yield running
    stop_server(running)


@pytest.fixture
def fresh_server(server, tmp_path):
    """A server no page has been opened on yet: the session's one if still unused, else a new one."""
    if not server.used:
        yield server
        return
    own = start_server(tmp_path / "server.log")
    try:
        yield own
    finally:
        stop_server(own)


# ---- the browser --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (make test does it as root: apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, server, request):
    """open_page(path, on=server) -> a fresh context's page at that path of the app, finished running."""
    contexts = []
    request.node.browser_pages = []

    def opener(path: str = "", on: Server | None = None, expect: str | None = None):
        target = on or server
        context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(RUN_TIMEOUT_S * 1000)
        request.node.browser_pages.append(page)
        target.used = True
        page.goto(f"{target.url}/{path}")
        settle(page, expect)
        return page

    yield opener
    for context in contexts:
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        pages = getattr(item, "browser_pages", [])
        for index, page in enumerate(pages):
            if page.is_closed():
                continue
            name = re.sub(r"[^\w.-]+", "_", item.name)
            path = SCREENSHOTS / f"{name}-{index}.png"
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(path), full_page=True)
            except Exception as exc:  # a closed page must not hide the test's own failure
                report.sections.append(("screenshot", f"could not save {path}: {exc}"))
            else:
                report.sections.append(("screenshot", str(path)))


@pytest.fixture
def midi_files(tmp_path):
    """midi_files(count, notes=.., prefix=..) -> paths of MIDI files written by pretty_midi (fixed seed)."""
    import numpy as np
    import pretty_midi

    def write(count: int, notes: int = 64, prefix: str = "tune") -> list[Path]:
        rng = np.random.default_rng(count * 1000 + notes)
        paths = []
        for index in range(count):
            pm = pretty_midi.PrettyMIDI()
            piano = pretty_midi.Instrument(program=0)
            start = 0.0
            for pitch in rng.integers(48, 84, notes):
                duration = float(rng.choice([0.25, 0.5, 1.0]))
                piano.notes.append(pretty_midi.Note(90, int(pitch), start, start + duration))
                start += float(rng.choice([0.0, 0.25, 0.5]))
            pm.instruments.append(piano)
            path = tmp_path / f"{prefix}{index + 1}.mid"
            pm.write(str(path))
            paths.append(path)
        return paths

    return write
