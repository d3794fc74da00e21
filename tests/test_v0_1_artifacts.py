"""What version 0.1 wrote still loads: its to_dict data, its text, its fingerprints and a torch
checkpoint of its Scheduler (``tests/data/v0_1``, written by the 0.1 tree before the modules moved
into layer folders)."""

import json
from pathlib import Path

import pytest

import schedalg as sa

DATA = Path(__file__).parent / "data" / "v0_1"
WRITTEN = json.loads((DATA / "expressions.json").read_text())


@pytest.mark.parametrize("written", WRITTEN, ids=[w["text"] for w in WRITTEN])
def test_data_text_and_fingerprints_of_0_1_read_back(written):
    s = sa.from_dict(written["data"])
    assert s == sa.parse(written["text"]) == sa.parse(written["repr"])
    assert repr(s) == written["repr"]
    assert sa.to_dict(s) == written["data"]
    assert sa.fingerprint(s) == written["fingerprint"]


def test_a_0_1_torch_checkpoint_resumes():
    torch = pytest.importorskip("torch")
    from schedalg.torch import Scheduler

    saved = torch.load(DATA / "scheduler_step17.pt", weights_only=True)
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    lr = sa.warmup(sa.cosine(90), 10)
    momentum = sa.absolute(sa.one_cycle_momentum(100, 0.85, 0.95))
    scheduler = Scheduler(optimizer, lr=lr, momentum=momentum)
    scheduler.load_state_dict(saved["scheduler"])
    assert [g["lr"] for g in optimizer.param_groups] == saved["lr"] == [0.1 * lr(17)]
    assert [g["momentum"] for g in optimizer.param_groups] == saved["momentum"] == [momentum(17)]
    optimizer.step()
    scheduler.step()
    assert [g["lr"] for g in optimizer.param_groups] == [0.1 * lr(18)]
