"""The adapter in the ecosystem: PyTorch Lightning's scheduler checks and a real Trainer run,
HF Trainer's checkpoint resume (weights_only loading), and torch.compile without recompiles."""

from __future__ import annotations

import warnings

import pytest
import torch

import schedalg as sa
from schedalg.torch import Scheduler

SCHEDULE = sa.warmup(sa.cosine(20), 4, start=0.1)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Linear(4, 1)


def test_lightning_accepts_it_and_steps_it_per_iteration():
    pl = pytest.importorskip("lightning.pytorch")
    from lightning.pytorch.core.optimizer import _validate_scheduler_api
    from lightning.pytorch.utilities.types import LRSchedulerConfig

    seen = []

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = _model()

        def training_step(self, batch, batch_idx):
            seen.append(self.trainer.optimizers[0].param_groups[0]["lr"])
            return self.layer(batch).pow(2).mean()

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=0.1)
            sched = Scheduler(opt, lr=SCHEDULE)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    module = Module()
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    _validate_scheduler_api([LRSchedulerConfig(Scheduler(opt, lr=SCHEDULE))], module)
    data = torch.utils.data.DataLoader(torch.randn(12, 4), batch_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = pl.Trainer(
            max_steps=12,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.fit(module, data)
    assert seen == [0.1 * SCHEDULE(t) for t in range(12)]


def test_hf_trainer_saves_and_resumes_the_schedule(tmp_path):
    transformers = pytest.importorskip("transformers")

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = _model()

        def forward(self, x, labels=None):
            return {"loss": (self.layer(x).squeeze(-1) - labels).pow(2).mean()}

    data = [{"x": torch.randn(4), "labels": torch.tensor(0.0)} for _ in range(16)]
    seen: dict[int, float] = {}

    class Record(transformers.TrainerCallback):
        def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
            seen[state.global_step] = optimizer.param_groups[0]["lr"]

    def run(resume):
        model = Model()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        args = transformers.TrainingArguments(
            output_dir=str(tmp_path),
            max_steps=10,
            save_steps=5,
            per_device_train_batch_size=1,
            report_to=[],
            use_cpu=True,
            logging_strategy="no",
            disable_tqdm=True,
        )
        trainer = transformers.Trainer(
            model=model,
            args=args,
            train_dataset=data,
            optimizers=(opt, Scheduler(opt, lr=SCHEDULE)),
            callbacks=[Record()],
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.train(resume_from_checkpoint=resume)
        return trainer

    run(None)
    uninterrupted = dict(seen)
    seen.clear()
    trainer = run(str(tmp_path / "checkpoint-5"))  # loads scheduler.pt with weights_only=True
    assert sorted(seen) == list(range(5, 10))
    assert all(seen[t] == uninterrupted[t] == 0.1 * SCHEDULE(t) for t in seen)
    assert trainer.lr_scheduler.last_epoch == 10


def test_compiled_optimizer_step_does_not_recompile_with_a_tensor_lr():
    compiled_graphs = []

    def counting_backend(graph_module, example_inputs):
        compiled_graphs.append(graph_module)
        return graph_module.forward

    def train(lr):
        torch._dynamo.reset()
        compiled_graphs.clear()
        model = _model()
        opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99))
        sched = Scheduler(opt, lr=SCHEDULE)
        for p in model.parameters():
            p.grad = torch.ones_like(p)

        @torch.compile(backend=counting_backend)
        def step():
            opt.step()

        values = []
        for _ in range(8):
            step()
            sched.step()
            values.append(float(opt.param_groups[0]["lr"]))
        return len(compiled_graphs), values

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiles, values = train(torch.tensor(0.01))
        float_compiles, _ = train(0.01)
    assert compiles == 1
    assert values == pytest.approx([0.01 * SCHEDULE(t) for t in range(1, 9)], rel=1e-6)
    # The counter does see recompiles: a Python float lr is a guarded constant.
    assert float_compiles > 1
