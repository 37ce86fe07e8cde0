"""A smooth control: a truncated Fourier series on [0, t1].

    f(t) = a_0 + sum_{k=1}^{K} [a_k cos(w_k t) + b_k sin(w_k t)],      w_k = 2 pi k / t1,

with parameters z = (a_0, a_1..a_K, b_1..b_K) (2K + 1,).  Without bounds u(t) = f(t) and, by
Parseval's identity, exactly

    fluence    int_0^t1 u^2 dt  = t1 [a_0^2 + (1/2) sum_k (a_k^2 + b_k^2)],
    roughness  int_0^t1 u'^2 dt = (t1 / 2) sum_k w_k^2 (a_k^2 + b_k^2).

With bounds [lo, hi] the series is squashed, u(t) = lo + (hi - lo) sigmoid(f(t))
(:class:`qbjax.optimize.box.Box`), so lo < u(t) < hi at every t; the two integrals then have no
closed form and are computed by Gauss-Legendre quadrature with ``n_quad`` nodes (the integrands are
analytic and periodic-smooth, so the rule converges exponentially; 64 + 16 K nodes by default).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..optimize.box import logit
from .base import AbstractControl, as_params, check_bounds, check_duration, float_array

__all__ = ["Fourier"]


class Fourier(AbstractControl):
    """u(t) = f(t) (or lo + (hi - lo) sigmoid(f(t)) with bounds), f the series of the module text.

    ``Fourier(coefficients, t1, *, bounds=None, n_quad=None)``: ``coefficients`` (2K + 1,) =
    (a_0, a_1..a_K, b_1..b_K) of f (with bounds they live in logit space: a_0 = 0 is the middle of
    the box).  :meth:`constant` starts from a constant u.  Raises ``ValueError`` naming ``t1``,
    ``bounds`` or ``coefficients`` (not finite, or not of odd length).
    """

    z: jax.Array = eqx.field(converter=float_array)
    t1: float = eqx.field(static=True)
    bounds: tuple[float, float] | None = eqx.field(static=True)
    n_quad: int = eqx.field(static=True)

    def __init__(self, coefficients, t1, *, bounds=None, n_quad=None):
        self.t1 = check_duration(t1)
        self.bounds = check_bounds(bounds)
        z = as_params(coefficients, "coefficients")
        if z.shape[0] % 2 != 1 or not np.all(np.isfinite(z)):
            raise ValueError(f"coefficients must be finite, of length 2K + 1 (a_0, a_1..a_K, b_1..b_K); got {z}")
        self.z = z
        K = (z.shape[0] - 1) // 2
        self.n_quad = int(64 + 16 * K if n_quad is None else n_quad)

    @classmethod
    def constant(cls, value, n_modes: int, t1, *, bounds=None, n_quad=None):
        """u(t) = ``value`` for all t, with ``n_modes`` = K harmonics free to move (strictly inside
        the bounds when there are bounds)."""
        if isinstance(n_modes, bool) or not isinstance(n_modes, (int, np.integer)) or n_modes < 0:
            raise ValueError(f"n_modes must be an integer >= 0; got {n_modes!r}")
        bounds = check_bounds(bounds)
        if bounds is not None and not bounds[0] < float(value) < bounds[1]:
            raise ValueError(f"value must lie strictly inside bounds {bounds} (a sigmoid never reaches an edge)")
        z = np.zeros(2 * n_modes + 1)
        z[0] = cls._unsquash(np.array([value], dtype=np.float64), bounds)[0]
        return cls(z, t1, bounds=bounds, n_quad=n_quad)

    @property
    def n_modes(self) -> int:
        """K, the number of harmonics."""
        return (int(jnp.shape(self.z)[-1]) - 1) // 2

    def _frequencies(self):
        return 2 * np.pi * np.arange(1, self.n_modes + 1) / self.t1

    def series(self, t):
        """f(t) and f'(t) for a scalar ``t``."""
        K = self.n_modes
        a0, a, b = self.z[0], self.z[1:K + 1], self.z[K + 1:]
        w = jnp.asarray(self._frequencies())
        c, s = jnp.cos(w * t), jnp.sin(w * t)
        return a0 + jnp.sum(a * c + b * s), jnp.sum(w * (b * c - a * s))

    def __call__(self, t):
        """u(t) (the series is periodic: times outside [0, t1] continue it)."""
        return self._squash(self.series(jnp.asarray(t, dtype=jnp.result_type(float)))[0])

    def _quadrature(self, fn):
        x, w = np.polynomial.legendre.leggauss(self.n_quad)
        ts = jnp.asarray(0.5 * self.t1 * (x + 1))
        return 0.5 * self.t1 * jnp.sum(jnp.asarray(w) * jax.vmap(fn)(ts))

    def fluence(self):
        """int_0^t1 u^2 dt: Parseval without bounds, Gauss-Legendre quadrature with bounds."""
        if self.bounds is None:
            return self.t1 * (self.z[0] ** 2 + 0.5 * jnp.sum(self.z[1:] ** 2))
        return self._quadrature(lambda t: self(t) ** 2)

    def roughness(self):
        """int_0^t1 u'(t)^2 dt: Parseval without bounds, quadrature of ((hi - lo) s (1 - s) f')^2
        with bounds (s = sigmoid(f))."""
        K = self.n_modes
        if self.bounds is None:
            w2 = jnp.asarray(self._frequencies() ** 2)
            return 0.5 * self.t1 * jnp.sum(w2 * (self.z[1:K + 1] ** 2 + self.z[K + 1:] ** 2))
        lo, hi = self.bounds

        def du2(t):
            f, df = self.series(t)
            s = jax.nn.sigmoid(f)
            return ((hi - lo) * s * (1 - s) * df) ** 2

        return self._quadrature(du2)

    def sample(self, rng: np.random.Generator, spread: float = 0.5):
        """Random coefficients: bounded, a_0 uniform in the box (as a logit) and the harmonics normal
        with standard deviation ``spread / k``; unbounded, as :meth:`AbstractControl.sample`."""
        if self.bounds is None:
            return super().sample(rng, spread)
        K = self.n_modes
        k = np.arange(1, K + 1, dtype=np.float64)
        a0 = logit(rng.uniform(0.02, 0.98))
        return np.concatenate([[a0], rng.normal(0, spread / k), rng.normal(0, spread / k)])
