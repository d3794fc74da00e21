"""The inputs whose ``describe`` and ``check`` outputs are stored in ``tests/data/expected``:
``python -m tests.expected_cases`` writes them (``NAME.describe.txt``, ``NAME.check.txt``)."""

from __future__ import annotations

import contextlib
import io
import pathlib

HERE = pathlib.Path(__file__).parent / "data" / "expected"

# name: (expression, steps, clock for describe)
CASES: dict[str, tuple[str, int, str | None]] = {
    "warmup_cosine": ("warmup(cosine(9000), 1000, start=0.01)", 10_000, None),
    "wsd": (
        "sequence(warmup(constant(1.0), 500), linear(1.0, 0.0, 2000), at=[8000])",
        10_000,
        None,
    ),
    "wsd_node": ("warmup_stable_decay(500, 7500, 2000, decay_shape='linear')", 10_000, None),
    "sequence_pieces": (
        "sequence(constant(0.1), multistep([3000, 6000], 0.1), cosine(500), at=[500, 9000])",
        10_000,
        None,
    ),
    "multistep": ("warmup(multistep([5000, 7500], 0.1), 1000, start=0.01)", 10_000, None),
    "one_cycle": ("one_cycle(5000, peak=0.1)", 5000, None),
    "cosine_restarts": ("cosine_restarts(100, mult=2)", 3100, None),
    "plateau": (
        "warmup(cosine(9000), 1000, start=0.01) * plateau(factor=0.5, patience=3)",
        10_000,
        None,
    ),
    "clip": ("clip(cosine(3000), 1000, 4000)", 5000, None),
    "per_epoch": ("per_epoch(exponential(0.5), 500)", 6500, None),
    "per_epoch_long": ("per_epoch(exponential(0.9), 7)", 2000, None),
    "rounded": ("rounded(linear(32, 544, 1000))", 1000, None),
    "batch_ramp": ("batch_ramp(32, 32, 2000, 512)", 3000, None),
    "tokens": (
        "warp(warmup(cosine(9 * 10**9), 10**9), consumed(4096 * batch_ramp(32, 32, 200_000, 512)))",
        6000,
        "tokens",
    ),
    "early_decay": ("cosine(100)", 10_000, None),
    "epoch_milestones": ("multistep([8, 11], 0.1)", 6000, None),
    "negative": ("cosine(1000, end=-0.5) + 0.0", 1200, None),
    "nonfinite": ("constant(1.0) / linear(1.0, -1.0, 100)", 200, None),
    "short": ("constant(0.1)", 1, None),
    "mmengine_config": (str(HERE / "mmengine_config.py"), 12_000, None),
    "zeros": ("sequence(constant(0.0), cosine(50), constant(0.0), at=[10, 60])", 100, None),
}


def _command(*argv: str) -> str:
    from schedalg.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        main(list(argv))
    return buffer.getvalue()


def outputs(name: str) -> tuple[str, str]:
    """The text of ``schedalg describe`` (of ``describe(..., clock=...)`` where a clock is
    given) and of ``schedalg check`` for one case."""
    text, steps, clock = CASES[name]
    if clock is None:
        described = _command("describe", text, "--steps", str(steps))
    else:
        import schedalg
        from schedalg.analysis.description import describe

        schedule = eval(text, vars(schedalg))  # the library's own names only
        described = str(describe(schedule, steps, clock=clock)) + "\n"
    return described, _command("check", text, "--steps", str(steps))


if __name__ == "__main__":
    for case in CASES:
        described, checked = outputs(case)
        (HERE / f"{case}.describe.txt").write_text(described)
        (HERE / f"{case}.check.txt").write_text(checked)
