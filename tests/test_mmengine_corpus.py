"""Every real mmdetection and mmpretrain config with a ``param_scheduler``, against MMEngine.

The corpus (``tests/data/openmmlab``) holds the configs and what MMEngine's ``Config.fromfile``
resolved from each (``resolved.json``, written by ``python -m tests.mmengine_coverage --write``;
a sample is re-resolved here, so a stale resolution fails). Route (a): ``from_config`` on what
MMEngine resolved reproduces MMEngine's own schedulers, replayed as its Runner does, within
1e-12 relative at every iteration, at an epoch length of 7 and a realistic one. Route (b):
schedalg's reader, on the file, gives the same expression as MMEngine's resolution, or refuses.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

pytest.importorskip("torch")
pytest.importorskip("mmengine")

import mmengine_coverage as corpus

RESOLVED = corpus.load_manifest()
CONFIGS = {path: r for path, r in RESOLVED.items() if isinstance(r, corpus.Resolved)}

# Route (a)'s exceptions (docs/mmengine-coverage.md): path -> part of the outcome. Only at the
# short epoch length do the PolyLR / CosineAnnealingLR windows of the first three begin after the
# run's end, which MMEngine refuses too.
SHORT_ONLY = {
    "mmpretrain/configs/minigpt4/minigpt-4_baichuan-7b_caption.py": corpus.BOTH_REFUSE,
    "mmpretrain/configs/shufflenet_v1/shufflenet-v1-1x_16xb64_in1k.py": corpus.BOTH_REFUSE,
    "mmpretrain/configs/shufflenet_v2/shufflenet-v2-1x_16xb64_in1k.py": corpus.BOTH_REFUSE,
}
# At its realistic length (80,073 iterations an epoch) minigpt-4's cosine is the closed form,
# and MMEngine's ratio recursion has drifted 1.0e-12 relative from it by iteration 18,790
# (cosines of 2^19 steps and more are scanned as MMEngine runs them, this one is shorter; see
# docs/mmengine-coverage.md for the long runs past the first 20,000 iterations).
REALISTIC_ONLY = {
    "mmpretrain/configs/minigpt4/minigpt-4_baichuan-7b_caption.py": "lr at iteration 18790",
}
ALWAYS = {
    "mmpretrain/configs/vision_transformer/vit-base-p16_4xb544-ipu_in1k.py": "no max_epochs",
}


@pytest.fixture(scope="module")
def root():
    with corpus.corpus() as unpacked:
        corpus.load_downstream(unpacked)
        yield unpacked


def test_the_corpus_is_large_and_resolved_by_mmengine():
    by_repository = defaultdict(int)
    for r in CONFIGS.values():
        by_repository[r.repository] += 1
    assert by_repository["mmdetection"] > 700
    assert by_repository["mmpretrain"] > 450


def test_the_shipped_resolution_is_what_mmengine_resolves(root):
    for path in sorted(RESOLVED)[::25]:
        repository = path.split("/", 1)[0]
        now = corpus.resolve_or_error(repository, root / path, root)
        assert corpus.as_record(now) == corpus.as_record(RESOLVED[path]), path


def _signatures() -> dict[str, list[corpus.Resolved]]:
    """The configs grouped by what from_config and the replay read: each group replays once."""
    groups: dict[str, list[corpus.Resolved]] = defaultdict(list)
    for r in CONFIGS.values():
        groups[r.key()].append(r)
    return groups


def _epoch_length_matters(r: corpus.Resolved) -> bool:
    """Under IterBasedTrainLoop only convert_to_iter_based reads the epoch length."""
    loop = corpus.loop_arguments(r.train_cfg)
    return "max_iters" not in loop or any(s.get("convert_to_iter_based") for s in r.param_scheduler)


@pytest.mark.parametrize("realistic", [False, True], ids=["epoch_length=7", "realistic"])
def test_every_config_reproduces_mmengine(root, realistic):
    failures = {}
    for group in _signatures().values():
        r = group[0]
        if realistic and not _epoch_length_matters(r):
            continue  # the same replay as at epoch length 7
        length = corpus.realistic_length(r) if realistic else corpus.SHORT
        loop = corpus.loops(r, length)
        if isinstance(loop, str):
            outcome: str | None = f"not replayed: {loop}"
        else:
            try:
                outcome = corpus.compare(r, loop, corpus.MAX_REPLAY if realistic else None)
            except (TypeError, ValueError) as error:
                outcome = f"refused: {error}"
        if outcome is not None:
            failures.update({g.path: outcome for g in group})
    known = {**ALWAYS, **(REALISTIC_ONLY if realistic else SHORT_ONLY)}
    unexpected = {p: why for p, why in failures.items() if p not in known or known[p] not in why}
    assert not unexpected
    assert set(failures) == set(known)


def test_every_config_read_from_its_file_is_read_as_mmengine_resolves_it(root):
    # The config reader, from the file alone (config_root for the pkg::path bases), gives
    # MMEngine's schedulers, loop and base values: the same expression.
    outcomes = {r.path: corpus.route_b(r, root) for r in CONFIGS.values()}
    read = [p for p, outcome in outcomes.items() if outcome is None]
    known = {**ALWAYS, **SHORT_ONLY}
    assert {p: o for p, o in outcomes.items() if o is not None and p not in known} == {}
    assert len(read) >= corpus.READ_FROM_FILES
