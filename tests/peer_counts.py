"""The peers' suites as run here: ``python -m tests.peer_counts`` runs every ``peers`` test
(``pytest -k peers``) and prints, per suite, how many cases hold and how many are refused (a
refused case is a test whose name ends in ``refused``: it passes when ``from_torch`` or the
importer refuses with the stated reason), then the refused cases by name. A case that fails is
listed as failing and the exit status is 1."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

SUITES = {
    "torch": "tests/test_peers_torch.py",
    "HF transformers": "tests/test_hf.py",
    "optax": "tests/test_optax_factories.py",
    "timm": "tests/test_peers_timm.py",
}


class _Recorder:
    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.outcomes[report.nodeid] = report.outcome


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    recorder = _Recorder()
    files = [str(root / path) for path in SUITES.values()]
    args = ["-qq", "-p", "no:cacheprovider", "-p", "no:warnings", "-k", "peers", "--tb=line"]
    pytest.main([*args, *files], [recorder])
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    refused: dict[str, list[str]] = defaultdict(list)
    failing: list[str] = []
    for nodeid, outcome in sorted(recorder.outcomes.items()):
        suite = next(name for name, path in SUITES.items() if nodeid.startswith(path))
        test = nodeid.split("::", 1)[1]
        if test.endswith("_counts"):  # a check of a table's totals, not a case
            continue
        if outcome != "passed":
            failing.append(nodeid)
            counts[suite]["failing"] += 1
        elif test.split("[")[0].endswith("refused") and "not_refused" not in test:
            counts[suite]["refused"] += 1
            refused[suite].append(test)
        else:
            counts[suite]["held"] += 1
    print("\n| suite | held | refused |\n|---|---|---|")
    for suite in SUITES:
        c = counts[suite]
        extra = f" ({c['failing']} failing)" if c["failing"] else ""
        print(f"| {suite} | {c['held']} | {c['refused']}{extra} |")
    for suite, names in refused.items():
        print(f"\nrefused ({suite}):")
        for name in names:
            print(f"  {name}")
    for nodeid in failing:
        print(f"FAILING: {nodeid}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
