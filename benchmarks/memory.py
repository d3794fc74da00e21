"""Peak resident memory of the command line (``schedalg describe``, ``check``, ``plot``), each
run in a fresh interpreter; the streaming target is 100 MB at 10**8 steps. ``describe`` and
``check`` stream the curve, and are measured at 10**8 steps in the full run."""

from __future__ import annotations

import subprocess
import sys
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


# describe and check read the curve in chunks: they are measured at the target's 10**8 steps
# (10**7 in the quick run); plot at the steps below.
_STREAMED = {"describe": "warmup(cosine(99_000_000), 1_000_000)", "check": EXPRESSION}
_TARGET_MB = 100


def _streamed_row(row: Any, command: str, quick: bool) -> Any:
    steps = 10**7 if quick else 10**8
    expression = _STREAMED[command] if not quick else EXPRESSION
    mib = peak_rss_mib(command, expression, "--steps", str(steps))
    over = mib * 1.048576 > _TARGET_MB
    return row(
        "command line",
        f"peak RSS of `schedalg {command}` at {steps:.0e} steps",
        f"{mib:7.1f} MiB",
        "",
        "<= 100 MB at 1e8",
        verdict(not over) if steps == 10**8 or over else "1e8 not run",
    )


def rows(row: Any, quick: bool) -> list[Any]:
    out = [_streamed_row(row, command, quick) for command in ("describe", "check")]
    steps = 10**6 if quick else 10**7
    mib = peak_rss_mib("plot", EXPRESSION, "--steps", str(steps))
    # Memory only grows with the steps: over 100 MB here is over 100 MB at 1e8.
    over = mib * 1.048576 > _TARGET_MB
    out.append(
        row(
            "command line",
            f"peak RSS of `schedalg plot` at {steps:.0e} steps",
            f"{mib:7.1f} MiB",
            "",
            "<= 100 MB at 1e8",
            verdict(False) if over else "1e8 not run",
        )
    )
    return out
