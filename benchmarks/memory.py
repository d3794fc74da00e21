"""Peak resident memory of the command line (``schedalg describe``, ``check``, ``plot``,
``plot -o``, ``export``), each run in a fresh interpreter; the streaming target is 100 MB at 10**8
steps."""

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
    "subprocess.run([sys.executable, '-m', 'schedalg'] + sys.argv[1:], capture_output=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)
EXPRESSION = "warmup(cosine(9_900_000), 100_000)"


def peak_rss_mib(*arguments: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _RUN, *arguments], capture_output=True, text=True, check=False
    )
    return int(done.stdout.split()[-1]) / 1024  # kilobytes on Linux


def rows(row: Any, quick: bool) -> list[Any]:
    out = []
    steps = 10**6 if quick else 10**7
    for command in ("describe", "check"):
        mib = peak_rss_mib(command, EXPRESSION, "--steps", str(steps))
        # Memory only grows with the steps: over 100 MB here is over 100 MB at 1e8.
        over = mib * 1.048576 > 100
        out.append(
            row(
                "command line",
                f"peak RSS of `schedalg {command}` at {steps:.0e} steps",
                f"{mib:7.1f} MiB",
                "",
                "<= 100 MB at 1e8",
                verdict(False) if over else "1e8 not run",
            )
        )
    return out + streaming_rows(row, quick)


def streaming_rows(row: Any, quick: bool) -> list[Any]:
    """``plot``, ``plot -o`` and ``export`` stream the curve: measured at 10**8 steps itself
    (10**6 with ``quick``, where the target cannot be judged)."""
    steps = 10**6 if quick else 10**8
    expression = "warmup(cosine(99_000_000), 1_000_000)"
    out = []
    with tempfile.TemporaryDirectory() as folder:
        image, data = os.path.join(folder, "x.png"), os.path.join(folder, "x.npy")
        runs = {
            "plot": ["plot", expression],
            "plot -o x.png": ["plot", expression, "-o", image],
            "export -o x.npy": ["export", expression, "-o", data],
        }
        for name, arguments in runs.items():
            mib = peak_rss_mib(*arguments, "--steps", str(steps))
            out.append(
                row(
                    "command line",
                    f"peak RSS of `schedalg {name}` at {steps:.0e} steps",
                    f"{mib:7.1f} MiB",
                    "",
                    "<= 100 MB at 1e8",
                    verdict(mib * 1.048576 <= 100) if steps >= 10**8 else "1e8 not run",
                )
            )
    return out
