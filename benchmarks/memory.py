"""Peak resident memory of the command line (``schedalg describe``, ``check``, ``plot``,
``plot -o``, ``export``), each run in a fresh interpreter; the streaming target is 100 MB at 10**8
steps, where every command is measured in the full run (10**6 in the quick run, where the target
is not judged). A command that fails or
runs past its time is reported as such, never as a figure."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import Any

from benchmarks.timing import verdict

# A small interpreter starts the command and reads its peak: on Linux a process's peak RSS
# counts the memory of the process it was forked from, so the benchmark's own (hundreds of MB)
# must not be the parent.
_RUN = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run([sys.executable, '-m', 'schedalg'] + sys.argv[1:], capture_output=True,"
    " text=True)\n"
    "print(((done.stderr or done.stdout).strip().splitlines() or [''])[-1][:80])\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)
LONG = "warmup(cosine(99_000_000), 1_000_000)"
# check exits 1 when it warns: these have nothing to warn about over 10**8 and 10**6 steps.
CHECKED = "warmup(cosine(99_000_000), 1_000_000, start=0.01)"
CHECKED_QUICK = "warmup(cosine(990_000), 10_000, start=0.01)"
_TARGET_MB = 100
_TIMEOUT_S = 240


def peak_rss_mib(*arguments: str) -> tuple[float, str]:
    """The command's peak RSS in MiB, and why it failed ('' when it succeeded)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _RUN, *arguments],
            capture_output=True,
            text=True,
            check=False,
            timeout=_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return 0.0, f"over {_TIMEOUT_S} s"
    *message, last = done.stdout.splitlines() or ["", "-1 0"]
    code, kilobytes = (int(x) for x in last.split())
    error = "" if code == 0 else f"exit {code}: {''.join(message)}"
    return int(kilobytes) / 1024, error  # kilobytes on Linux


def rows(row: Any, quick: bool) -> list[Any]:
    with tempfile.TemporaryDirectory() as folder:
        image, data = os.path.join(folder, "x.png"), os.path.join(folder, "x.npy")
        runs = {
            "describe": ["describe", LONG],
            "check": ["check", CHECKED_QUICK if quick else CHECKED],
            "plot": ["plot", LONG],
            "plot -o x.png": ["plot", LONG, "-o", image],
            "export -o x.npy": ["export", LONG, "-o", data],
        }
        steps = 10**6 if quick else 10**8
        out = []
        for name, arguments in runs.items():
            mib, error = peak_rss_mib(*arguments, "--steps", str(steps))
            if os.path.exists(data):
                os.remove(data)  # 800 MB at 10**8
            out.append(_row(row, name, steps, mib, error))
    return out


def _row(row: Any, name: str, steps: int, mib: float, error: str) -> Any:
    over = mib * 1.048576 > _TARGET_MB
    if error:
        judged = "MISSED"
    elif steps == 10**8 or over:
        judged = verdict(not over)
    else:
        judged = "1e8 not run"
    return row(
        "#3 command line",
        f"peak RSS of `schedalg {name}` at {steps:.0e} steps",
        f"failed ({error})" if error else f"{mib:7.1f} MiB",
        "",
        "<= 100 MB at 1e8",
        judged,
    )
