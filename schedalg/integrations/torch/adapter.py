"""The torch adapter: apply schedules to any ``param_groups`` key of an optimizer.

``Scheduler`` is a real ``torch.optim.lr_scheduler.LRScheduler`` (PyTorch Lightning, HF Trainer
and accelerate accept it) that holds nothing but a step counter, the base values and the
reducer states of metric-driven (``plateau``) nodes. ``step()`` writes ``base * s(t)`` — or
``s(t)`` in absolute mode — into each scheduled group value.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Collection, Mapping
from typing import Any

from torch.optim.lr_scheduler import LRScheduler

from schedalg.algebra.expression import Schedule
from schedalg.integrations.torch import arguments, binding, checkpoint, stepping
from schedalg.integrations.torch.arguments import number
from schedalg.integrations.torch.timing import Timing


def _reported(node: Any, state: dict[str, Any], metric: Any, now: float) -> dict[str, Any]:
    """A plateau's state after a metric; with ``units='value'`` it decides on the value the
    optimizer holds, ``now``. A value of 0 stays 0 (torch's ``max(0 * factor, min_lr)`` never
    passes its ``eps`` test): only the decisions move."""
    if node.units != "value":
        return dict(node.update(state, metric))
    if now == 0:
        return {**node.update(state, metric), "value": state["value"]}
    return dict(node.update(state, metric, current=now))


class Scheduler(LRScheduler):
    """``Scheduler(optimizer, lr=s, momentum=m, weight_decay=w, *, absolute=None, base=None,
    **other_keys)``: set param-group values from schedules at every step.

    - Each schedule argument is a ``Schedule`` (every group), a list with one schedule or
      ``None`` per group, or a mapping ``{group index: schedule}``. Any key of the param groups
      can be scheduled; ``momentum`` sets ``betas[0]`` on Adam-style groups.
    - Relative (default): the value is ``base * s(t)``, ``base`` being the group's value when the
      adapter is built (or ``base={"lr": [...], ...}``: a number or a per-group list per key).
      A multiplier of a base that is 0 is refused (the value would stay 0).
    - Absolute: the value is ``s(t)`` for a schedule that is absolute by nature or marked
      (``one_cycle_momentum``, ``absolute(s)``, what ``from_torch`` builds from absolute
      numbers; see ``schedalg.algebra.units``), and for the keys of ``absolute=True`` (all keys) or
      ``absolute={"lr", ...}``. ``absolute=False`` takes every schedule as a multiplier and
      refuses one marked absolute rather than scale it.
    - ``t`` is the number of ``step()`` calls so far (``last_epoch``); the values for ``t = 0``
      are applied at construction. Tensor values are updated in place (``fill_``).
    - Metric-driven nodes (``schedalg.plateau``): ``step(metric)`` reports a metric and then
      advances, ``observe(metric)`` reports without advancing. A param group added since the
      last step is taken in first (``add_param_group``: keys given one schedule for every
      group continue its value by their ratios; an absolute plateau alone, what ``from_torch``
      builds for ``ReduceLROnPlateau``, reduces its own value), so the metric reaches it too.
    - A group whose lr, or a value to schedule, is not a number (Adafactor's ``lr=None``: the
      optimizer computes it) is refused, naming the optimizer, the group and the key.
    - ``state_dict()`` is plain data (``torch.load(weights_only=True)`` loads it) with every
      schedule as data and its fingerprint; ``load_state_dict`` accepts a different schedule
      that agrees with the saved one on every step already taken (a branched cooldown, an
      extended run) and refuses one that rewrites them unless ``strict=False``
      (``schedalg.integrations.torch.checkpoint``).
    - ``clock=f``: the step is ``f()`` (the trainer's global step), read at every ``step()``
      and ``sync()``, not the adapter's own count. ``hold_skipped=True``: an optimizer step
      that did not run (GradScaler skipped it) does not advance the schedule. See
      ``schedalg.integrations.torch.timing``; ``follow(clock, hold_skipped=...)`` sets both later.
    - Schedules holding placeholders (``warmup(cosine(total), 0.01 * total)``) are applied
      from ``bind(total=n)`` on (``schedalg.integrations.torch.binding``).

    Works with any object that has ``param_groups`` (optimizer wrappers included).
    """

    def __init__(
        self,
        optimizer: Any,
        lr: Any = None,
        momentum: Any = None,
        weight_decay: Any = None,
        *,
        absolute: bool | Collection[str] | None = None,
        base: Mapping[str, Any] | None = None,
        clock: Callable[[], int] | None = None,
        hold_skipped: bool = False,
        **params: Any,
    ) -> None:
        # LRScheduler.__init__ is not called: it insists on a torch Optimizer and recomputes
        # values through get_lr(). The attributes it sets are set here, as torch names them.
        groups = arguments.param_groups(optimizer)
        specs = arguments.given(
            {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, **params}
        )
        arguments.check_numbers(optimizer, specs)
        absolute_keys = arguments.absolute_keys(absolute, specs)
        bases = arguments.bases(base, specs, len(groups))
        entries = arguments.scheduled_values(groups, specs, bases, absolute_keys)
        self.optimizer = optimizer
        self._entries = entries
        self._group_count = len(groups)
        # Keys given one schedule for every group (or one ReduceLROnPlateau over groups with
        # different lrs) also schedule groups added later.
        self._shared = arguments.shared_keys(specs, entries, len(groups))
        arguments.record_initial_lrs(groups)
        lr_bases = {e.group: e.base for e in entries if e.key == "lr"}
        self.base_lrs = [lr_bases.get(i, number(g["lr"])) for i, g in enumerate(groups)]
        self.last_epoch = 0
        self._step_count = 1
        self._get_lr_called_within_step = False
        self._is_initial = False
        self._timing: Timing | None = None
        self._skipped = 0  # a checkpoint's count, kept for follow() when there is no timing
        self._pending: tuple[Mapping[str, Any], bool] | None = None  # loaded before bind()
        self._last_lr = [g["lr"] for g in groups]  # until values are applied (after bind())
        self._compile()
        self._guard = binding.guard(self)
        if clock is not None or hold_skipped:
            self.follow(clock, hold_skipped=hold_skipped)
        elif not self._unbound:
            self._apply()

    # -- construction helpers ------------------------------------------------------------------

    def _compile(self) -> None:
        """The step path (``stepping``): one evaluation per distinct schedule, the plateau
        states already bound, and the groups whose lr no schedule writes. A schedule holding an
        unbound placeholder has no step path: ``step()`` refuses until ``bind()``."""
        self._unbound = binding.held(e.schedule for e in self._entries)
        self._plan = [] if self._unbound else stepping.plan(self._entries)
        scheduled = {e.group for e in self._entries if e.key == "lr"}
        self._unscheduled = [i for i in range(self._group_count) if i not in scheduled]

    # -- stepping ------------------------------------------------------------------------------

    def _values(self, t: int) -> list[tuple[int, str, float]]:
        return stepping.values(self._plan, t)

    def _apply(self) -> None:
        # The hot path (every training step): see schedalg.integrations.torch.stepping.
        t = self.last_epoch
        groups = self.optimizer.param_groups
        if len(groups) != self._group_count:
            self._adopt(t)
        lrs: list[Any] = [None] * self._group_count
        stepping.unscheduled_lrs(groups, lrs, self._unscheduled)
        stepping.apply(self._plan, groups, t, lrs)
        self._written = lrs
        self._snapshot: list[Any] | None = None

    @property
    def _last_lr(self) -> list[Any]:
        """The lrs of the last step applied (``get_last_lr()``), tensors as copies; made when
        first read, not at every step."""
        if self._snapshot is None:
            self._snapshot = stepping.snapshot(self._written)
        return self._snapshot

    @_last_lr.setter
    def _last_lr(self, value: list[Any]) -> None:
        self._written = list(value)
        self._snapshot = list(value)

    def _adopt(self, t: int, saved: Mapping[tuple[str, int], Any] | None = None) -> None:
        """Schedule the param groups added since step ``t`` was applied (progressive
        unfreezing), as torch's chainable schedulers do: each shared schedule continues the
        group's value by its ratios, ``value * s(u) / s(t)`` at later steps ``u`` (absolute
        keys: ``s(u)``). Keys given per group leave the new groups alone. With a checkpoint's
        entries (``saved``), only the groups it holds, with its bases (it restores the rest)."""
        groups = self.optimizer.param_groups
        arguments.check_numbers(self.optimizer, self._shared, self._group_count)
        if len(groups) < self._group_count:
            raise RuntimeError(
                f"Scheduler: the optimizer has {len(groups)} param groups, but it had "
                f"{self._group_count}; removing param groups is not supported (build a new "
                "Scheduler)"
            )
        plan = {(e.key, e.group): e for e in self._entries}
        bases = {where: e.get("base") for where, e in (saved or {}).items()}
        end = len(groups) if saved is None else min(len(groups), 1 + max(g for _, g in saved))
        for index in range(self._group_count, end):
            new = [
                arguments.adopted(groups[index], index, plan[k, 0], t, bases.get((k, index)))
                for k in self._shared
            ]
            self._entries.extend(new)
            self.base_lrs.append(arguments.lr_base(groups[index], new))
        self._group_count = max(self._group_count, end)
        self._compile()

    def step(self, metrics: Any = None, epoch: int | None = None) -> None:  # type: ignore[override]
        """Advance one step (or to ``epoch``) and apply the values; a metric, if given, is
        reported to the plateau nodes first (as ``ReduceLROnPlateau.step(metric)``)."""
        if self._unbound:
            raise binding.unbound_error(self._unbound)
        # A group added while step last_epoch was applied joins first: the metric reaches it
        # too, as ReduceLROnPlateau.step(metric) reduces every group the optimizer has then.
        self._adopt_added()
        if metrics is not None:
            self.observe(metrics, apply=False)
        if self._timing is not None:
            epoch = self._timing.advance(epoch)
        if epoch is None:
            self.last_epoch += 1
        elif not isinstance(epoch, numbers.Integral) or isinstance(epoch, bool) or epoch < 0:
            raise ValueError(
                f"Scheduler.step(): epoch must be a non-negative integer, got {epoch!r}"
            )
        else:
            self.last_epoch = int(epoch)
        self._step_count += 1
        self._apply()

    def _adopt_added(self) -> None:
        """Take in the groups added since step ``last_epoch`` was applied (once bound)."""
        if not self._unbound and len(self.optimizer.param_groups) != self._group_count:
            self._adopt(self.last_epoch)

    def _adopt_saved(self, saved: Mapping[tuple[str, int], Any]) -> None:
        """Take in the groups added during the run and again since this adapter was built (an
        optimizer grown to load its state), as during the run; the checkpoint restores them."""
        if saved and len(self.optimizer.param_groups) > self._group_count:
            self._adopt(self.last_epoch, saved)

    def observe(self, metric: Any, *, apply: bool = True) -> None:
        """Report a metric to every plateau node without advancing the step; the new values
        take effect at once. Groups added since the last step are taken in first, so the
        metric reaches them too."""
        if not any(e.plateaus for e in self._entries):
            raise ValueError(
                "Scheduler.observe(): no schedule has a plateau node, so a metric would be "
                f"ignored (got {metric!r}); use step() without a metric"
            )
        self._adopt_added()
        for e in self._entries:
            if e.plateaus:
                now = self._current(e)
                e.states = [_reported(p, s, metric, now) for p, s in zip(e.plateaus, e.states)]
        self._compile()
        if apply:
            self._apply()

    def _current(self, entry: Any) -> float:
        """The scheduled value as the optimizer holds it now (``betas[0]`` for Adam's momentum):
        what a plateau with ``units='value'`` compares ``min_value`` and ``eps`` with."""
        group = self.optimizer.param_groups[entry.group]
        value = group["betas"][0] if entry.slot == "betas" else group[entry.slot]
        return float(value)

    def follow(self, clock: Callable[[], int] | None, *, hold_skipped: bool = False) -> None:
        """Take the step from ``clock()`` from now on (``None``: count ``step()`` calls) and,
        with ``hold_skipped``, do not advance on optimizer steps that did not run; the values
        at the clock's step are applied at once. The steps skipped so far are kept."""
        timing = Timing(self.optimizer, clock, hold_skipped)
        timing.skipped = self._skipped
        if self._timing is not None:
            timing.skipped = self._timing.skipped
            self._timing.close()
        self._timing = timing if clock is not None or hold_skipped else None
        self.last_epoch = timing.start(self.last_epoch)
        if not self._unbound:
            self._apply()

    def sync(self) -> None:
        """Read the clock again and apply the values of its step (``step()`` does this too,
        and also counts a step): for a trainer that advances its step after stepping the
        scheduler, or skips stepping it."""
        if self._timing is not None:
            self.last_epoch = self._timing.sync()
        self._apply()

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The placeholders (``schedalg.algebra.horizon``) the schedules hold until ``bind``."""
        return self._unbound

    def bind(self, **values: int) -> None:
        """``scheduler.bind(total=n)``: bind the placeholders of every schedule (see
        ``schedalg.integrations.torch.binding``) and apply the values; a checkpoint loaded before
        is loaded
        now, against the bound schedules."""
        binding.check_names(values, self._unbound)
        self._entries = [binding.bound_entry(e, values) for e in self._entries]
        self._shared = binding.bound_shared(self._shared, values)
        self._compile()
        if self._guard is not None and not self._unbound:
            self._guard.remove()
            self._guard = None
        pending, self._pending = self._pending, None
        if pending is not None:
            self.load_state_dict(*pending)
        elif not self._unbound:
            self._apply()

    def get_lr(self) -> list[Any]:
        """The learning rates for the current step, without applying them."""
        lrs = [g["lr"] for g in self.optimizer.param_groups]
        for group, slot, value in self._values(self.last_epoch):
            if slot == "lr":
                lrs[group] = value
        return lrs

    @property
    def schedules(self) -> dict[str, dict[int, Schedule]]:
        """The schedules by key and group index."""
        result: dict[str, dict[int, Schedule]] = {}
        for e in self._entries:
            result.setdefault(e.key, {})[e.group] = e.schedule
        return result

    # -- state ---------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Plain data: ints, floats, strings, lists and dicts (loads with ``weights_only``);
        each schedule is saved as data (``to_dict``) and by fingerprint."""
        return {
            "format": checkpoint.FORMAT,
            "last_epoch": int(self.last_epoch),
            "_step_count": int(self._step_count),
            "base_lrs": [float(b) for b in self.base_lrs],
            "_last_lr": [number(v) for v in self._last_lr],
            "skipped": self._skipped if self._timing is None else self._timing.skipped,
            "entries": [checkpoint.entry_state(e) for e in self._entries],
        }

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Restore a ``state_dict()`` and apply the values of the restored step.

        With ``strict=True`` (default) every scheduled (key, group) must be in the checkpoint,
        in the same mode, with the same schedule — or a different one that gives the saved
        schedule's values on every step already taken, ``[0, last_epoch)``: the run then goes
        on with the new schedule. A schedule that rewrites those steps is refused, naming the
        first step where the two part and both values. ``strict=False`` loads the step counter
        and whatever matches, keeping this adapter's schedules.
        """
        checkpoint.check_format(state_dict)
        if self._unbound:  # checked and loaded by bind(), against the bound schedules
            self._pending = (state_dict, strict)
            return
        saved = {(s["key"], s["group"]): s for s in state_dict["entries"]}
        self._adopt_saved(saved)
        mine = {(e.key, e.group): e for e in self._entries}
        problems = checkpoint.differences(saved, mine, int(state_dict["last_epoch"]))
        if problems and strict:
            raise ValueError(
                "Scheduler.load_state_dict(): the checkpoint was saved with different "
                "schedules: " + "; ".join(problems) + ". Pass strict=False to load the step "
                "counter anyway."
            )
        for where, e in mine.items():
            if where in saved:
                checkpoint.restore(e, saved[where])
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict["_step_count"])
        lr_bases = {e.group: e.base for e in self._entries if e.key == "lr"}
        self.base_lrs = [lr_bases.get(i, b) for i, b in enumerate(state_dict["base_lrs"])]
        self._skipped = int(state_dict.get("skipped", 0))
        if self._timing is not None:
            self._timing.rebase(self.last_epoch + self._skipped, self._skipped)
        self._compile()
        self._apply()
