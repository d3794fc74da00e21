"""ReduceOnPlateau: decided by validation metrics, so it is ``schedalg.plateau``'s node."""

from __future__ import annotations

from schedalg.algebra.expression import Schedule, chain, constant
from schedalg.curves.metric import plateau
from schedalg.importers.mmengine.base import Kind, Loop, Spec, arguments, entry


@entry
class ReduceOnPlateau(Kind):
    """Decides from validation metrics: ``schedalg.plateau``'s metric-driven node."""

    name = "ReduceOnPlateau"
    defaults = arguments(
        monitor="loss",
        rule="less",
        factor=0.1,
        patience=10,
        threshold=1e-4,
        threshold_rule="rel",
        cooldown=0,
        min_value=0.0,
        eps=1e-8,
    )
    not_convertible = (
        "ReduceOnPlateau cannot be converted to iterations (MMEngine has no "
        "build_iter_from_epoch for it and raises AttributeError)"
    )
    metric_driven = True

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        if not spec.epoch:
            raise spec.fail("ReduceOnPlateau must have by_epoch=True (MMEngine asserts it)")
        return spec

    def metric_node(
        self, spec: Spec, group: list[Spec], base: float | None, loop: Loop
    ) -> Schedule:
        """The node scaled to a multiplier: feed it ``metrics[monitor]`` after each validation.

        MMEngine compares ``value - new > eps`` and clamps at ``min_value`` in absolute numbers,
        so the node runs on the absolute value (``start=base``) and the expression is
        ``(1 / base) * plateau(...)``.
        """
        name = spec.param
        if len(group) > 1:
            raise spec.fail(
                f"ReduceOnPlateau multiplies the current {name}, whatever other schedulers made "
                "it, and decides from that product; with other schedulers on the same parameter "
                "its decisions are not a function of the metrics alone. Only a ReduceOnPlateau "
                f"that is the one scheduler of its parameter can be expressed (here {len(group)} "
                "are)"
            )
        if base is None:
            raise spec.fail(
                f"min_value and eps are absolute {name} values: pass base={{{name!r}: <value>}}"
            )
        _check_sees_every_validation(spec, loop)
        return chain(constant(1.0 / base), _plateau_node(spec, base))


def _check_sees_every_validation(spec: Spec, loop: Loop) -> None:
    # Validation after epoch e runs at the scheduler's global step e + 1 (once, at step 0,
    # under IterBasedTrainLoop); MMEngine ignores metrics outside [begin, end).
    first, last = (0, 0) if loop.iter_based else (1, (loop.max_epochs or spec.end) - 1)
    if spec.begin > first or spec.end <= last:
        raise spec.fail(
            f"its window [{spec.begin}, {spec.end}) skips some validations whose metrics change "
            "the value during training; the metric-driven node counts every metric it is fed. "
            f"Use begin <= {first} and end >= {last + 1}"
        )


def _plateau_node(spec: Spec, base: float) -> Schedule:
    a = spec.args
    rules = {"less": "min", "greater": "max"}
    if a["rule"] not in rules:
        raise spec.fail(f"rule must be 'less' or 'greater', got {a['rule']!r}")
    try:
        return plateau(
            factor=float(a["factor"]),
            patience=a["patience"],
            threshold=float(a["threshold"]),
            threshold_mode=a["threshold_rule"],
            mode=rules[a["rule"]],
            cooldown=a["cooldown"],
            min_value=float(a["min_value"]),
            eps=float(a["eps"]),
            start=base,
        )
    except (TypeError, ValueError) as error:
        raise spec.fail(str(error)) from None
