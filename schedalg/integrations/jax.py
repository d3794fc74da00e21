"""JAX and optax interop: any traceable expression as an optax schedule.

Every schedule already evaluates on ``jax.numpy`` arrays, also inside ``jax.jit`` and
``jax.vmap``: ``s(jnp.arange(10))``. This module adds the optax front door::

    import optax
    from schedalg import cosine, warmup
    from schedalg.jax import to_optax

    lr = to_optax(warmup(cosine(9_000), 1_000), base=3e-4)
    optimizer = optax.inject_hyperparams(optax.adamw)(learning_rate=lr)

The returned function is what optax calls a ``Schedule``: ``count -> base * s(count)``, a pure
function of the step that traces under ``jit``. Its dtype is JAX's default float (float32 unless
``jax_enable_x64`` is on). Steps that are invalid (negative, NaN) give NaN under tracing, where
nothing can be raised; nodes that call opaque Python code (``cumulative``, a ``from_fn`` whose
function only takes scalars) raise ``TypeError`` when traced.

Steps and parameters beyond int32 (``cosine(10**10)``): JAX turns a Python int into an int32
constant unless ``jax_enable_x64`` is on, which overflows. The schedule is therefore evaluated
with 64-bit types enabled for its own computation (the count converted exactly to float64, every
parameter a float64 constant) and the value rounded once to the default float. So a float32
program gets the float32 rounding of the exact value, also at steps above ``2**24`` where a
float32 step itself would be off by up to ``2**(e - 23)`` (``e`` the step's binary exponent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check

__all__ = ["to_optax"]


def to_optax(schedule: Schedule, base: float = 1.0) -> Callable[[Any], jax.Array]:
    """The optax schedule ``count -> base * schedule(count)``.

    ``base`` is the value the schedule multiplies (the peak learning rate for a multiplier
    schedule); use ``base=1.0`` for an absolute schedule such as ``3e-4 * cosine(1000)``.
    """
    if not isinstance(schedule, Schedule):
        raise TypeError(f"to_optax(): schedule must be a Schedule, got {schedule!r}")
    base = check.real("to_optax", "base", base)

    def optax_schedule(count: Any) -> jax.Array:
        # optax passes an int32 count array; a Python int (e.g. from a user's loop) is promoted so
        # the result is always a JAX array of the default float dtype.
        dtype = jax.dtypes.canonicalize_dtype(jnp.float64)  # float32 unless jax_enable_x64
        with jax.enable_x64(True):
            value = schedule(jnp.asarray(count))
            value = value if base == 1.0 else base * value
        return jnp.asarray(value).astype(dtype)

    optax_schedule.__name__ = "schedalg_optax_schedule"
    optax_schedule.__qualname__ = f"to_optax({schedule!r}, base={base!r})"
    optax_schedule.__doc__ = f"optax schedule: {base!r} * {schedule!r} at step count."
    return optax_schedule
