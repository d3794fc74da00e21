"""``python -m benchmarks [--quick]``: one run, one table of medians and ratios. Curves are
timed on one thread unless run with ``SCHEDALG_THREADS=2`` (the second thread is opt-in)."""

from __future__ import annotations

import argparse
import os
import platform
import sys

from benchmarks.suite import legend, report, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and shorter torch loops (noisier)"
    )
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()} on {platform.machine()}, {_cpu()}")
    print(f"load average before: {_load()} ({os.cpu_count()} CPUs)")
    print(f"curves: SCHEDALG_THREADS={os.environ.get('SCHEDALG_THREADS') or '1'}")
    rows = run(quick=args.quick)
    print(report(rows))
    print(legend())
    print(f"load average after: {_load()} (1, 5, 15 minutes)")
    return 0


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
