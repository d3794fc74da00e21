"""schedalg for JAX: a schedule as an optax schedule (imports JAX).

A face: the names below are defined in ``schedalg.integrations.jax``.
"""

from schedalg.integrations.jax import to_optax as to_optax

__all__ = [
    "to_optax",
]
