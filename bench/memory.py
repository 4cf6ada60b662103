"""Peak resident memory of the Streamlit server, driven like a visitor in a real browser.

On a fresh `streamlit run app.py` (free localhost port), the server process's VmHWM (peak resident set,
from /proc/<pid>/status) after each stage:
  1. Home opened, then "Play a new piece" clicked and the audio shown. TensorFlow must not
     be loaded: we look for its library in /proc/<pid>/maps. Target < 300 MB.
     Then the piece's Score tab opened (music21 and Verovio load, the score is engraved): within Community
     Cloud's smallest memory, about 690 MB.
  2. Then a tiny model trained through the Train page (preset "tiny", one epoch, the bundled chorales),
     until the page says it finished (if it has not after 10 minutes, the figure so far, marked unfinished). Target < 1 GB (Community Cloud gives apps about 690 MB to 2.7 GB).
     Training runs in a child process (issue 16): the server's resident memory is sampled before, during
     (the largest sample, next to the training process's own) and a few seconds after, and TensorFlow must
     never be loaded in the server. Target after: back within 100 MB of before.
  3. Visitors coming and going, on a server of their own: one visitor opens Home and plays a piece, makes
     three variations on Generate (a seed of their own, so each hears new music) and two harmonisations on
     Steer, then closes the tab. Once their session has ended, the server's resident memory is "one
     visitor's". Then ten more do the same, two at a time, and leave; once their sessions have ended too,
     the resident memory is measured again. Target: within 50 MB of one visitor's (a visitor's audio and
     pieces are given back when their session ends).
     Streamlit keeps a closed tab's session for `server.disconnectedSessionTTL` seconds (120 by default) in
     case it reconnects, and drops it at the next disconnect after that; this stage runs its server with a
     TTL of SESSION_TTL_S and, after waiting it out, has one more visitor open Home and leave, which is
     what ends the others' sessions (time is fast-forwarded, nothing else changes).

    python bench/memory.py [--visitors 10] [--only visitors] [--compare-with OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from common import ROOT, machine, machine_line, print_json, proc_status_mb, table
from startup import (
    APP_IDLE,
    AUDIO,
    BUTTON,
    CHROMIUM,
    TIMEOUT_S,
    free_port,
    launch_browser,
    streamlit_server,
    wait_healthy,
)

TARGET_GENERATE_MB = 300
TARGET_VISITORS_MB = 50  # server memory after many visitors left, over one visitor's
SESSION_TTL_S = 5
AT_ONCE = 2  # visitors in the app at the same time
TARGET_SCORE_MB = 690  # Community Cloud's smallest allowance (its docs as of February 2024: 690 MB-2.7 GB)
TARGET_TRAIN_MB = 1024
TRAIN_TIMEOUT_S = 600
TRAIN_EPOCHS = 1
SCREENSHOT = Path(__file__).resolve().parent / "results" / "memory-failure.png"


def tensorflow_loaded(pid: int) -> bool:
    """Whether TensorFlow's shared libraries are mapped into the process."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return "libtensorflow" in maps or "_pywrap_tensorflow" in maps


def snapshot(pid: int, stage: str, started: float) -> dict:
    return {
        "stage": stage,
        "peak_mb": proc_status_mb(pid, "VmHWM"),
        "rss_mb": proc_status_mb(pid, "VmRSS"),
        "tensorflow_loaded": tensorflow_loaded(pid),
        "at_s": time.perf_counter() - started,
    }


def measure(browser, log_path: Path | None = None) -> list[dict]:
    port = free_port()
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    stages = []
    try:
        started = time.perf_counter()
        with streamlit_server(port, log_path) as server:
            try:
                wait_healthy(port, server)
                stages.append(snapshot(server.pid, "server started", started))
                page.goto(f"http://127.0.0.1:{port}/")
                button = page.get_by_role("button", name=BUTTON)
                button.wait_for(state="visible")
                page.wait_for_selector(APP_IDLE)
                stages.append(snapshot(server.pid, "Home opened", started))
                button.click()
                page.locator(AUDIO).first.wait_for(state="attached")
                page.wait_for_selector(APP_IDLE)
                stages.append(snapshot(server.pid, "generated with the default model", started))
                page.get_by_role("tab", name="Score").first.click()
                page.locator('[data-testid="stImage"] img').first.wait_for(state="visible")
                page.wait_for_selector(APP_IDLE)
                stages.append(snapshot(server.pid, "opened its score (music21, Verovio)", started))
                stages.append(train_on_page(page, port, server.pid, started))
            except Exception:
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT), full_page=True)
                print(
                    f"failed after {len(stages)} stages; screenshot: {SCREENSHOT}; figures so far: {stages}", flush=True
                )
                raise
    finally:
        context.close()
    return stages


def train_on_page(page, port: int, pid: int, started: float) -> dict:
    """Train the "tiny" preset (one epoch, the bundled chorales) on the Train page until it says it finished."""
    page.goto(f"http://127.0.0.1:{port}/train")
    start = page.get_by_role("button", name="Start training")
    start.wait_for(state="visible")
    page.wait_for_selector(APP_IDLE)
    page.get_by_text("Advanced", exact=True).click()  # the epochs box waits there (issue 25: five settings shown)
    page.wait_for_selector(APP_IDLE)
    box = page.get_by_role("spinbutton", name="Epochs (at most)", exact=True)
    box.fill(str(TRAIN_EPOCHS))
    box.press("Tab")
    page.wait_for_selector(APP_IDLE)
    before = proc_status_mb(pid, "VmRSS")
    start.click()
    outcome = page.get_by_text(re.compile(r"Finished \d+ epoch|Training failed|Stopped after")).first
    during, child, tf_during, deadline = before, 0.0, False, time.perf_counter() + TRAIN_TIMEOUT_S
    while True:  # sample the server (and its training child) until the page reports the outcome
        during = max(during, proc_status_mb(pid, "VmRSS"))
        child = max(child, children_rss_mb(pid))
        tf_during = tf_during or tensorflow_loaded(pid)
        try:
            outcome.wait_for(state="visible", timeout=500)
            break
        except PlaywrightTimeout:
            if time.perf_counter() > deadline:
                stage = snapshot(
                    pid, f"training a tiny model (Train page; unfinished after {TRAIN_TIMEOUT_S} s)", started
                )
                return {
                    **stage,
                    "finished": False,
                    "rss_before_mb": before,
                    "rss_during_mb": during,
                    "child_rss_mb": child,
                }
    if "failed" in outcome.inner_text():
        raise RuntimeError("training failed in the app: " + outcome.inner_text())
    page.wait_for_selector(APP_IDLE)
    time.sleep(3)  # a settle time for the reader thread and the freed buffers, not a wait for the app
    stage = snapshot(pid, "trained a tiny model (Train page)", started)
    return {
        **stage,
        "finished": True,
        "rss_before_mb": before,
        "rss_during_mb": during,
        "child_rss_mb": child,
        "rss_after_mb": stage["rss_mb"],
        "tensorflow_loaded_during": tf_during,
    }


def visit(browser, port: int, number: int) -> None:
    """One visitor: a piece on Home, three variations on Generate (seed = their number), two harmonisations on
    Steer; then their tab closes."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_role("button", name=BUTTON).click()
        page.locator(AUDIO).first.wait_for(state="attached")
        page.wait_for_selector(APP_IDLE)
        page.goto(f"http://127.0.0.1:{port}/generate")
        page.wait_for_selector(APP_IDLE)
        seed = page.get_by_role("spinbutton", name="Seed", exact=True)
        seed.fill(str(number))
        seed.press("Tab")
        page.wait_for_selector(APP_IDLE)
        page.get_by_role("button", name="Generate", exact=True).click()
        page.get_by_text("Variation 3", exact=True).wait_for()
        page.wait_for_selector(APP_IDLE)
        page.goto(f"http://127.0.0.1:{port}/steer")
        page.wait_for_selector(APP_IDLE)
        page.get_by_role("button", name="Harmonise", exact=True).click()
        page.get_by_text("Harmonisation 2", exact=True).wait_for()
        page.wait_for_selector(APP_IDLE)
    finally:
        context.close()


def end_sessions(browser, port: int) -> None:
    """Wait out the closed tabs' session TTL, then let one visitor open Home and leave: Streamlit drops
    expired sessions when the next one is stored."""
    time.sleep(SESSION_TTL_S + 1)  # the TTL itself: nothing in the app to wait for
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{port}/")
    page.get_by_role("button", name=BUTTON).wait_for()
    page.wait_for_selector(APP_IDLE)
    context.close()
    time.sleep(2)  # the disconnect reaches the server after the browser closes the tab


def visitors(browser, count: int, log_path: Path | None = None, app: Path | None = None) -> dict:
    """Resident memory of a fresh server after one visitor came and went, and after `count` more did
    (`app`: another checkout's app.py, to compare side by side)."""
    from concurrent.futures import ThreadPoolExecutor

    port = free_port()
    options = ("--server.disconnectedSessionTTL", str(SESSION_TTL_S))
    script = app if app is not None else ROOT / "app.py"
    with streamlit_server(port, log_path, script=script, options=options) as server:
        wait_healthy(port, server)
        started = proc_status_mb(server.pid, "VmRSS")
        visit(browser, port, 0)
        end_sessions(browser, port)
        one = proc_status_mb(server.pid, "VmRSS")
        print(f"  server started {started:.0f} MB; after one visitor came and went {one:.0f} MB", flush=True)
        peak = one
        numbers = list(range(1, count + 1))
        for first in range(0, count, AT_ONCE):  # Playwright's sync API: one browser per thread
            group = numbers[first : first + AT_ONCE]
            with ThreadPoolExecutor(len(group)) as pool:
                list(pool.map(lambda n: _visit_in_own_browser(port, n), group))
            peak = max(peak, proc_status_mb(server.pid, "VmRSS") or 0.0)
            print(
                f"  visitors {group[0]}-{group[-1]} came and went: {proc_status_mb(server.pid, 'VmRSS'):.0f} MB",
                flush=True,
            )
        end_sessions(browser, port)
        after = proc_status_mb(server.pid, "VmRSS")
    return {
        "visitors": count,
        "rss_started_mb": started,
        "rss_one_visitor_mb": one,
        "rss_peak_mb": peak,
        "rss_after_visitors_mb": after,
        "visitors_target_met": after - one <= TARGET_VISITORS_MB,
    }


def _visit_in_own_browser(port: int, number: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            visit(browser, port, number)
        finally:
            browser.close()


def children_rss_mb(pid: int) -> float:
    """Resident memory of the process's children (the training process), summed."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            try:
                total += proc_status_mb(int(kid), "VmRSS") or 0.0
            except (OSError, ValueError):
                pass
    return total


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="same run (training the tiny preset is the small size)")
    parser.add_argument("--log", help="keep the server's output in this file")
    parser.add_argument("--visitors", type=int, default=10, help="visitors who come and go after the first")
    parser.add_argument("--only", choices=["visitors"], help="run only this stage")
    parser.add_argument(
        "--compare-with",
        help="another checkout (e.g. `git archive main | tar -x -C DIR`): its visitors stage runs first, same machine",
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    print("Memory benchmark —", machine_line(), flush=True)
    stages: list[dict] = []
    crowd: dict = {}
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            if args.only != "visitors":
                stages = measure(browser, Path(args.log) if args.log else None)
            if args.compare_with:
                print(f"visitors on {args.compare_with}:", flush=True)
                other = visitors(browser, args.visitors, app=Path(args.compare_with) / "app.py")
            print("visitors on this checkout:", flush=True)
            crowd = visitors(browser, args.visitors)
        finally:
            browser.close()
    summary: dict = {"benchmark": "memory", "machine": machine(), **crowd}
    if args.compare_with:
        summary["compared_with"] = {"checkout": args.compare_with, **other}
        print(
            f"\n{args.compare_with}: one visitor {other['rss_one_visitor_mb']:.0f} MB, after {other['visitors']} more "
            f"{other['rss_after_visitors_mb']:.0f} MB (+{other['rss_after_visitors_mb'] - other['rss_one_visitor_mb']:.0f} MB)",
            flush=True,
        )
    print(
        f"\nvisitors (server RSS): started {crowd['rss_started_mb']:.0f} MB, after one visitor came and went "
        f"{crowd['rss_one_visitor_mb']:.0f} MB, after {crowd['visitors']} more came and went "
        f"{crowd['rss_after_visitors_mb']:.0f} MB (+{crowd['rss_after_visitors_mb'] - crowd['rss_one_visitor_mb']:.0f} MB; "
        f"target <= {TARGET_VISITORS_MB} MB: {'met' if crowd['visitors_target_met'] else 'NOT met'}), "
        f"largest while they were there {crowd['rss_peak_mb']:.0f} MB",
        flush=True,
    )
    if not stages:
        print_json(summary)
        return summary

    generated = next(s for s in stages if s["stage"].startswith("generated"))
    scored = next(s for s in stages if s["stage"].startswith("opened its score"))
    trained = stages[-1]
    targets = {
        "generated with the default model": (TARGET_GENERATE_MB, not generated["tensorflow_loaded"]),
        scored["stage"]: (TARGET_SCORE_MB, not scored["tensorflow_loaded"]),
        trained["stage"]: (TARGET_TRAIN_MB, trained["finished"]),
    }
    rows = []
    for s in stages:
        target = targets.get(s["stage"])
        verdict = ""
        if target:
            limit, extra_ok = target
            verdict = f"< {limit} MB: " + ("met" if s["peak_mb"] < limit and extra_ok else "NOT met")
        rows.append(
            [
                s["stage"],
                f"{s['peak_mb']:.0f}",
                f"{s['rss_mb']:.0f}",
                "yes" if s["tensorflow_loaded"] else "no",
                f"{s['at_s']:.1f}",
                verdict,
            ]
        )
    print()
    print(table(rows, ["server after", "peak RSS MB (VmHWM)", "RSS now MB", "TensorFlow loaded", "at s", "target"]))
    summary.update(
        {
            "stages": stages,
            "generate_peak_mb": generated["peak_mb"],
            "generate_tensorflow_loaded": generated["tensorflow_loaded"],
            "score_peak_mb": scored["peak_mb"],
            "train_peak_mb": trained["peak_mb"],
            "train_finished": trained["finished"],
            "generate_target_met": generated["peak_mb"] < TARGET_GENERATE_MB and not generated["tensorflow_loaded"],
            "train_target_met": trained["peak_mb"] < TARGET_TRAIN_MB and trained["finished"],
        }
    )
    if trained.get("finished"):
        print(
            f"server RSS around the Train-page run: before {trained['rss_before_mb']:.0f} MB, during (max) "
            f"{trained['rss_during_mb']:.0f} MB, after {trained['rss_after_mb']:.0f} MB; training process up to "
            f"{trained['child_rss_mb']:.0f} MB; TensorFlow in the server: {'yes' if trained['tensorflow_loaded_during'] or trained['tensorflow_loaded'] else 'no'}"
        )
        summary.update({k: trained[k] for k in ("rss_before_mb", "rss_during_mb", "rss_after_mb", "child_rss_mb")})
        summary["after_target_met"] = (
            trained["rss_after_mb"] < trained["rss_before_mb"] + 100 and not trained["tensorflow_loaded"]
        )
    print_json(summary)
    return summary


if __name__ == "__main__":
    main()
