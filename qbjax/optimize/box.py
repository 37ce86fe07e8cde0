"""Box constraints by a smooth reparametrisation.

Each coordinate of a point x in the box [lo, hi] is written as

    x_i = lo_i + (hi_i - lo_i) * sigmoid(z_i),      z_i unconstrained,

so an unconstrained optimiser in z only ever visits feasible points, and exact gradients chain
through the sigmoid.  An optimum on an edge shows up as |z_i| growing without bound; z = +-inf maps
onto the edge exactly.  Used by the micromaser protocol optimisation (c, q in [0, 1]) and the
four-level inverse design (the paper's Table-I box).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Box", "logit"]


def logit(u, clip: float = 1e-12):
    """log(u / (1 - u)) with u clipped to [clip, 1 - clip] (NumPy): edges map to large finite z."""
    u = np.clip(np.asarray(u, dtype=np.float64), clip, 1 - clip)
    return np.log(u) - np.log1p(-u)


class Box(eqx.Module):
    """The box [lo, hi] (arrays of one shape) and its sigmoid reparametrisation."""

    lo: np.ndarray = eqx.field(converter=lambda x: np.asarray(x, dtype=np.float64))
    hi: np.ndarray = eqx.field(converter=lambda x: np.asarray(x, dtype=np.float64))

    def __check_init__(self):
        if self.lo.shape != self.hi.shape or not np.all(self.hi > self.lo):
            raise ValueError(f"a box needs lo < hi of one shape; got lo = {self.lo}, hi = {self.hi}")

    def __call__(self, z):
        """Unconstrained z (..., *shape) -> x = lo + (hi - lo) sigmoid(z) (differentiable)."""
        return jnp.asarray(self.lo) + jnp.asarray(self.hi - self.lo) * jax.nn.sigmoid(jnp.asarray(z))

    def position(self, x):
        """(x - lo) / (hi - lo): where x sits in the box, 0 on the lower and 1 on the upper edge (NumPy)."""
        return (np.asarray(x, dtype=np.float64) - self.lo) / (self.hi - self.lo)

    def inverse(self, x, clip: float = 1e-12):
        """Box point(s) x -> z (NumPy; positions clipped to [clip, 1 - clip])."""
        return logit(self.position(x), clip)

    def starts(self, rng: np.random.Generator, n: int, margin: float = 0.02):
        """``n`` seeded uniform points with positions in [margin, 1 - margin], as z of shape (n, *shape)."""
        return logit(rng.uniform(margin, 1 - margin, size=(int(n),) + self.lo.shape))
