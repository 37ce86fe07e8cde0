"""Piecewise controls on the uniform grid t_k = k t1 / n, k = 0..n.

* :class:`PiecewiseConstant`: u(t) = c_k on [t_k, t_{k+1}) (n values, the last one also at t1);
* :class:`PiecewiseLinear`: u(t) linear between the node values c_0..c_n at t_0..t_n.

With bounds [lo, hi] each value is lo + (hi - lo) sigmoid(z_k) (:class:`qbjax.optimize.box.Box`), so
u(t) stays in [lo, hi] for every t (a linear interpolation of values in the box stays in it).

Penalties, exact for each basis (dt = t1 / n):

* constant: fluence  int u^2 dt = dt sum_k c_k^2;   roughness  sum_k (c_{k+1} - c_k)^2 (squared jumps);
* linear:   fluence  int u^2 dt = dt/3 sum_k (c_k^2 + c_k c_{k+1} + c_{k+1}^2);
            roughness  int u'^2 dt = sum_k (c_{k+1} - c_k)^2 / dt.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .base import AbstractControl, as_params, check_bounds, check_duration, float_array

__all__ = ["PiecewiseConstant", "PiecewiseLinear"]


def _initial(values, n, n_values: int | None, name: str = "n"):
    """The initial values: ``values`` broadcast to ``n_values`` entries when ``n`` is given."""
    if n is None:
        return as_params(values)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {n!r}")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim > 1 or (values.ndim == 1 and values.shape[0] not in (1, n_values)):
        raise ValueError(f"values must be a scalar or have {n_values} entries for n = {n}; got shape {values.shape}")
    return np.broadcast_to(values, (n_values,)).copy()


class PiecewiseConstant(AbstractControl):
    """u(t) = c_k for t_k <= t < t_{k+1}, k = 0..n-1, on the grid t_k = k t1 / n.

    ``PiecewiseConstant(values, t1, *, n=None, bounds=None)``: ``values`` the initial segment values
    (n,) (or a scalar repeated ``n`` times), ``t1`` > 0 the duration, ``bounds`` None or (lo, hi)
    with lo < hi.  Parameters ``z`` (n,).  Raises ``ValueError`` naming ``t1``, ``bounds``, ``n`` or
    ``values`` (outside the bounds, not finite, wrong shape).
    """

    z: jax.Array = eqx.field(converter=float_array)
    t1: float = eqx.field(static=True)
    bounds: tuple[float, float] | None = eqx.field(static=True)

    def __init__(self, values, t1, *, n=None, bounds=None):
        self.t1 = check_duration(t1)
        self.bounds = check_bounds(bounds)
        self.z = self._unsquash(_initial(values, n, n), self.bounds)

    @property
    def n(self) -> int:
        """Number of segments."""
        return int(jnp.shape(self.z)[-1])

    def edges(self) -> np.ndarray:
        """The grid t_0..t_n (n + 1,)."""
        return self.t1 * np.arange(self.n + 1) / self.n

    def values(self):
        """The segment values c_k (n,) (in the bounds)."""
        return self._squash(self.z)

    def __call__(self, t):
        """c_k for the segment holding ``t`` (right-continuous; t < 0 -> c_0, t >= t1 -> c_{n-1})."""
        k = jnp.searchsorted(jnp.asarray(self.edges()[1:-1]), jnp.asarray(t), side="right")
        return self.values()[k]

    def fluence(self):
        """int_0^t1 u^2 dt = (t1 / n) sum_k c_k^2."""
        return self.t1 / self.n * jnp.sum(self.values() ** 2)

    def roughness(self):
        """sum_k (c_{k+1} - c_k)^2: the squared jumps at the n - 1 interior breakpoints."""
        return jnp.sum(jnp.diff(self.values()) ** 2)

    def breakpoints(self):
        """u jumps at the interior grid points t_1..t_{n-1}."""
        return tuple(float(t) for t in self.edges()[1:-1]), ()


class PiecewiseLinear(AbstractControl):
    """u(t) linear between the node values c_k at t_k = k t1 / n, k = 0..n (n segments).

    ``PiecewiseLinear(values, t1, *, n=None, bounds=None)``: ``values`` the initial node values
    (n + 1,) (or a scalar repeated at the n + 1 nodes when ``n`` is given).  Parameters ``z`` (n + 1,).
    Raises ``ValueError`` as :class:`PiecewiseConstant` (and for fewer than two nodes).
    """

    z: jax.Array = eqx.field(converter=float_array)
    t1: float = eqx.field(static=True)
    bounds: tuple[float, float] | None = eqx.field(static=True)

    def __init__(self, values, t1, *, n=None, bounds=None):
        self.bounds = check_bounds(bounds)
        self.t1 = check_duration(t1)
        values = _initial(values, n, None if n is None else n + 1)
        if values.shape[0] < 2:
            raise ValueError(f"values must hold at least two node values; got shape {values.shape}")
        self.z = self._unsquash(values, self.bounds)

    @property
    def n(self) -> int:
        """Number of segments (nodes - 1)."""
        return int(jnp.shape(self.z)[-1]) - 1

    def edges(self) -> np.ndarray:
        """The nodes t_0..t_n (n + 1,)."""
        return self.t1 * np.arange(self.n + 1) / self.n

    def values(self):
        """The node values c_k (n + 1,) (in the bounds)."""
        return self._squash(self.z)

    def __call__(self, t):
        """Linear interpolation of the node values (held constant outside [0, t1])."""
        return jnp.interp(jnp.asarray(t, dtype=jnp.result_type(float)), jnp.asarray(self.edges()), self.values())

    def fluence(self):
        """int_0^t1 u^2 dt = (dt / 3) sum_k (c_k^2 + c_k c_{k+1} + c_{k+1}^2), dt = t1 / n."""
        c = self.values()
        a, b = c[:-1], c[1:]
        return self.t1 / self.n / 3 * jnp.sum(a * a + a * b + b * b)

    def roughness(self):
        """int_0^t1 u'(t)^2 dt = sum_k (c_{k+1} - c_k)^2 / dt."""
        return jnp.sum(jnp.diff(self.values()) ** 2) / (self.t1 / self.n)

    def breakpoints(self):
        """u' jumps at the interior nodes t_1..t_{n-1} (u itself is continuous)."""
        return (), tuple(float(t) for t in self.edges()[1:-1])
