"""What every control u(t) on [0, t1] shares: parameters, bounds, breakpoints, penalties.

A control is an Equinox module whose one array field ``z`` holds its parameters; everything else
(the duration ``t1``, the bounds) is static.  Calling it, ``u(t)``, is traceable and differentiable
in ``z``, so a dict of controls is itself the pytree an Optax optimiser updates.

Bounds [lo, hi] are imposed by the sigmoid reparametrisation of :class:`qbjax.optimize.box.Box`,

    c = lo + (hi - lo) sigmoid(z),

applied to the coefficients that fix u(t) (a piecewise control's segment or node values: u(t) then
never leaves [lo, hi]) or to the series itself (a bounded Fourier control).  Without bounds the
coefficients are z itself.  Units: u carries the units of the model parameter it drives (an energy
for a coupling, hbar = 1); times are in 1/energy.

The penalties are ``fluence()`` = int_0^t1 u(t)^2 dt and ``roughness()`` (each basis says which
measure of variation it uses); see the subclasses for the closed forms.
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..optimize.box import Box, logit

__all__ = ["AbstractControl", "check_bounds", "check_duration"]


def check_duration(t1, name: str = "t1") -> float:
    """``t1`` as a Python float; ``ValueError`` naming it unless it is a finite number > 0."""
    try:
        value = float(t1)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number > 0; got {t1!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0; got {t1!r}")
    return value


def check_bounds(bounds, name: str = "bounds"):
    """``None`` or ``(lo, hi)`` as two Python floats with lo < hi, both finite (``ValueError`` naming
    ``bounds`` otherwise)."""
    if bounds is None:
        return None
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be None or a pair (lo, hi); got {bounds!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} must be finite; got {bounds!r}")
    if not lo < hi:
        raise ValueError(f"{name} needs lo < hi; got lo = {lo!r}, hi = {hi!r}")
    return lo, hi


class AbstractControl(eqx.Module):
    """A control u(t) on [0, t1] with parameters ``z`` (its only array field).

    Concrete controls define ``z`` (a float array), ``t1`` and ``bounds`` (static) and implement
    ``__call__(t)``, ``fluence()``, ``roughness()`` and ``breakpoints()``.
    """

    z: eqx.AbstractVar[jax.Array]
    t1: eqx.AbstractVar[float]
    bounds: eqx.AbstractVar[tuple[float, float] | None]

    @abc.abstractmethod
    def __call__(self, t):
        """u(t), a scalar for a scalar time (traceable; times outside [0, t1] see the edge values)."""

    @abc.abstractmethod
    def fluence(self):
        """int_0^t1 u(t)^2 dt (units of u^2 x time)."""

    @abc.abstractmethod
    def roughness(self):
        """A measure of the variation of u (see the subclass)."""

    def breakpoints(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """``(jump_ts, step_ts)``: times in (0, t1) where u jumps, and where u is continuous but its
        derivative jumps; the solver steps exactly onto both (diffrax's ``ClipStepSizeController``)."""
        return (), ()

    # -- the coefficients and their bounds (concrete) ------------------------------------------
    def _box(self):
        return None if self.bounds is None else Box(*self.bounds)

    def _squash(self, z):
        """Coefficients from parameters: lo + (hi - lo) sigmoid(z), or z without bounds."""
        box = self._box()
        return z if box is None else box(z)

    @staticmethod
    def _unsquash(values, bounds):
        """Parameters z of given coefficient values (NumPy; values on an edge map to large finite z).
        ``ValueError`` naming ``values`` where one lies outside the bounds or is not finite."""
        values = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"values must be finite; got {values}")
        if bounds is None:
            return values
        lo, hi = bounds
        if np.any(values < lo) or np.any(values > hi):
            raise ValueError(f"values must lie within bounds [{lo}, {hi}]; got {values}")
        return Box(lo, hi).inverse(values)

    def with_params(self, z):
        """The same control with parameters ``z`` (same shape)."""
        return eqx.tree_at(lambda c: c.z, self, jnp.asarray(z, dtype=jnp.result_type(float)))

    def sample(self, rng: np.random.Generator, spread: float = 0.5):
        """Random parameters for a multistart (NumPy, the shape of ``z``).

        Bounded: coefficients uniform in the box (positions in [0.02, 0.98], as z); unbounded: the
        current parameters plus Gaussian noise of standard deviation ``spread * max(1, max|z|)``.
        """
        z = np.asarray(self.z)
        if self.bounds is not None:
            return logit(rng.uniform(0.02, 0.98, size=z.shape))
        return z + rng.normal(0.0, spread * max(1.0, float(np.abs(z).max(initial=0.0))), size=z.shape)

    def range(self) -> tuple[float, float] | None:
        """The interval u(t) stays in: the bounds (``None`` without bounds)."""
        return self.bounds


def as_params(values, name: str = "values"):
    """Initial coefficient values as a 1-D float64 NumPy array (``ValueError`` naming ``values``)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {arr.shape}")
    return arr


def float_array(x):
    """``x`` as a float JAX array (the converter of ``z``)."""
    return jnp.asarray(x, dtype=jnp.result_type(float))
