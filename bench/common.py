"""Small helpers shared by the benchmarks: the machine, timing medians, peak memory, tables, the JSON line."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from musicrnn.runtime import set_up_process

ROOT = Path(__file__).resolve().parent.parent
set_up_process()  # every benchmark imports this first: one BLAS thread, as the app and the CLI run


def machine() -> dict:
    """Cores, CPU model and memory of this machine (benchmarks only mean something next to these)."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "load_1min": round(os.getloadavg()[0], 2),
    }


def machine_line() -> str:
    m = machine()
    return (
        f"machine: {m['cores']} cores, {m['cpu']}, {m['memory_gb']} GB RAM, Python {m['python']}, load {m['load_1min']}"
    )


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Run `fn` `repeats` times; the median and all times in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def proc_status_mb(pid: int, field: str = "VmHWM") -> float | None:
    """A memory figure of another process from /proc/<pid>/status (VmHWM = peak resident, VmRSS = now)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def table(rows: list[list], headers: list[str]) -> str:
    """A plain-text table (also valid Markdown)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def print_json(result: dict) -> None:
    """The final line of every benchmark: one JSON object (run_all.py and the smoke test parse it)."""
    print(json.dumps(result, default=float), flush=True)


def last_json_line(text: str) -> dict:
    """The JSON object on the last non-empty line of a benchmark's output."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return json.loads(lines[-1])
