"""Peak resident memory of the command line (``schedalg describe``, ``check``, ``plot``,
``plot -o``, ``export``), each run in a fresh interpreter; the streaming target is 100 MB at 10**8
steps, where every command is measured in the full run."""

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
