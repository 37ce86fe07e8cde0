"""The battery protocol: one vocabulary for every model, built-in or the user's own.

A battery model is an Equinox module whose array fields are its physical parameters.  It describes a
*system* (what is evolved: for example charger (x) battery, or Dicke space (x) cavity) and a *battery*
inside it (the part whose ergotropy is measured).  Every model answers

=========================  =======================================================================
``hamiltonian()``          H of the whole system, (*batch, d, d)
``battery_hamiltonian()``  H_B, the Hamiltonian that ergotropy refers to, (*batch, d_B, d_B)
``initial_state()``        the model's default start, a system state
``evolve(ts, rho0=None)``  system states at the times ``ts``, (*batch, n_t, *state)
``battery_state(rho)``     the battery's density matrix in a system state, (..., d_B, d_B)
``energy(rho)``            Tr(rho_B H_B) of a system state
``ergotropy(rho)``         ergotropy of rho_B with respect to H_B
``ergotropy_curve(ts)``    ``ergotropy(evolve(ts, rho0))``, (*batch, n_t)
``features()``             a dict of named scalars per configuration (what a sweep stores)
=========================  =======================================================================

and, where they exist, ``liouvillian(t=0.0)`` and ``jump_ops(t=0.0)`` (Lindblad models),
``steady_state()`` and ``steady_ergotropy()``.  Inputs are checked where a method takes them: times
(1-D, non-empty, finite, strictly increasing, not before the start), initial states (density matrices
of the system's dimension), counts (integers) and durations, each with a ``ValueError`` naming the
argument (``eqx.error_if`` when traced).  The table in :mod:`qbjax.models` lists what each
built-in model implements and the state representation it uses.

Batching: array fields broadcast to the model's ``batch_shape`` (each field may carry ``core``
trailing axes of its own, declared in ``field_ndims``), every output carries ``batch_shape`` in front,
and ``jax.vmap`` over models (or over functions building them) works.  A system state passed to
``battery_state``/``energy``/``ergotropy`` has the batch axes first, then any axes of its own (a time
axis, say), then the state axes.

Constraints: each parameter's rule is declared once, in the class variable ``constraints`` (see
:mod:`qbjax._validate`).  Concrete values are checked when the model is built (``ValueError`` naming
the parameter); values traced under ``jit``/``vmap``/``grad`` are checked where the model reads them,
through :meth:`AbstractBattery.parameters` (one ``eqx.branched_error_if`` per computation).

The classes follow Equinox's abstract/final pattern: :class:`AbstractBattery` and
:class:`AbstractLindbladBattery` hold abstract methods and concrete methods that are never overridden;
the models are final.  A battery given by a Hamiltonian, jump operators and an initial state needs only
:class:`AbstractLindbladBattery`: the Liouvillian, the evolution (diffrax), the steady state (linear
solve) and the ergotropy curve follow from the core (:func:`steady_features` is a ready ``features``).
"""

from __future__ import annotations

import abc
import dataclasses
from functools import partial
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._ergotropy import capacity as _capacity
from .._ergotropy import energy as _energy
from .._ergotropy import ergotropy as _ergotropy
from .._evolve import evolve as _evolve
from .._states import purity as _purity
from .._steady import steady_state as _steady_state
from .._superop import liouvillian as _liouvillian
from .._superop import lindblad_rhs as _lindblad_rhs
from .._validate import Constraint, check_state, check_times, enforce

__all__ = ["AbstractBattery", "AbstractLindbladBattery", "align", "steady_features"]


def align(op, state):
    """``op`` (*batch, n, n) reshaped to broadcast against ``state`` (*batch, *extra, n, n).

    The model's batch axes lead both arrays; the axes ``state`` has beyond them (a time axis, say) get
    singleton axes in ``op``.  An unbatched ``op`` (n, n) is returned as it is.
    """
    op = jnp.asarray(op)
    extra = jnp.ndim(state) - op.ndim
    if op.ndim <= 2 or extra <= 0:
        return op
    return op.reshape(op.shape[:-2] + (1,) * extra + op.shape[-2:])


class AbstractBattery(eqx.Module):
    """The protocol every battery model implements (see the module docstring for the table).

    Subclasses declare their parameter rules in ``constraints`` and the intrinsic number of axes of
    array fields that are not scalars per configuration in ``field_ndims`` (for example
    ``{"omega": 1}`` for one frequency per cell).
    """

    constraints: ClassVar[tuple[Constraint, ...]] = ()
    field_ndims: ClassVar[dict[str, int]] = {}

    def __check_init__(self):
        enforce(self._array_fields(), self.constraints, traced=False)

    # -- parameters and batching (concrete, shared by every model) -------------------------------
    def _array_fields(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if not f.metadata.get("static", False) and isinstance(getattr(self, f.name), (jax.Array, np.ndarray))}

    def parameters(self, trailing: int | None = None) -> dict:
        """The array fields by name; traced values are guarded by the model's constraints (one run-time
        check for all of them).

        ``trailing``: broadcast every field to ``batch_shape`` (plus its intrinsic axes) and give the
        per-configuration scalars ``trailing`` singleton axes, ready to multiply operators: with
        ``p = self.parameters(2)``, ``p["J"] * hop`` has shape (*batch, d, d).
        """
        values = enforce(self._array_fields(), self.constraints, eager=False)
        if trailing is None:
            return values
        bs = self.batch_shape
        out = {}
        for name, v in values.items():
            core = self.field_ndims.get(name, 0)
            v = jnp.broadcast_to(v, bs + jnp.shape(v)[jnp.ndim(v) - core:])
            out[name] = v.reshape(v.shape + (1,) * trailing) if core == 0 else v
        return out

    def checked(self):
        """The model with its traced array fields guarded by its constraints (one run-time check; a
        no-op for concrete fields, which were checked at construction)."""
        values = self.parameters()
        names = list(values)
        return eqx.tree_at(lambda m: [getattr(m, k) for k in names], self, [values[k] for k in names])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Broadcast shape of the array fields without their intrinsic axes (``field_ndims``)."""
        shapes = []
        for name, value in self._array_fields().items():
            core = self.field_ndims.get(name, 0)
            shape = jnp.shape(value)
            shapes.append(shape[: len(shape) - core])
        try:
            return tuple(jnp.broadcast_shapes(*shapes)) if shapes else ()
        except ValueError:
            raise ValueError(
                f"{type(self).__name__}: the array fields must broadcast together; got shapes "
                + ", ".join(f"{k}={jnp.shape(v)}" for k, v in self._array_fields().items())
            ) from None

    def members(self):
        """The model with every array field broadcast to ``batch_shape`` and flattened to one axis
        (``(B,)`` plus its intrinsic axes), ready for ``eqx.filter_vmap``."""
        bs = self.batch_shape
        B = int(np.prod(bs)) if bs else 1
        fields = self._array_fields()
        names = list(fields)

        def flat(name):
            v = jnp.asarray(fields[name])
            core = v.shape[v.ndim - self.field_ndims.get(name, 0):]
            return jnp.broadcast_to(v, bs + core).reshape((B,) + core)

        return eqx.tree_at(lambda m: [getattr(m, k) for k in names], self, [flat(k) for k in names])

    def map_members(self, fn, *args):
        """``fn(member, *args)`` for every member of the batch, stacked with ``batch_shape`` in front.

        For methods written for one configuration; an unbatched model calls ``fn`` directly.
        """
        bs = self.batch_shape
        if not bs:
            return fn(self, *args)
        out = eqx.filter_vmap(lambda m: fn(m, *args))(self.members())
        return jax.tree_util.tree_map(lambda x: x.reshape(bs + x.shape[1:]), out)

    # -- the vocabulary --------------------------------------------------------------------------
    @abc.abstractmethod
    def hamiltonian(self):
        """Hamiltonian of the whole system, (*batch, d, d)."""

    @abc.abstractmethod
    def battery_hamiltonian(self):
        """The Hamiltonian H_B that energy and ergotropy refer to, (*batch, d_B, d_B)."""

    @abc.abstractmethod
    def initial_state(self):
        """The model's default initial system state."""

    @abc.abstractmethod
    def evolve(self, ts, rho0=None):
        """System states at the times ``ts`` (default start :meth:`initial_state`)."""

    @abc.abstractmethod
    def battery_state(self, rho):
        """The battery's density matrix (..., d_B, d_B) in the system state ``rho``."""

    @abc.abstractmethod
    def ergotropy(self, rho):
        """Ergotropy of the battery in the system state ``rho``, (...)."""

    @abc.abstractmethod
    def ergotropy_curve(self, ts, rho0=None):
        """Ergotropy along :meth:`evolve`, (*batch, n_t)."""

    @abc.abstractmethod
    def features(self) -> dict:
        """Named scalars of one configuration (each of shape ``batch_shape``): what a sweep stores."""

    # -- derived battery functionals (concrete) --------------------------------------------------
    def battery_functional(self, fn, rho):
        """``fn(rho_B, H_B)`` for a core functional ``fn`` (``qb.energy``, ``qb.ergotropy``, ...) of the
        battery state of the system state ``rho``, with H_B aligned to its batch and time axes."""
        rho_b = self.battery_state(rho)
        return fn(rho_b, align(self.battery_hamiltonian(), rho_b))

    def energy(self, rho):
        """Battery energy Tr(rho_B H_B) of the system state ``rho`` (units of H_B)."""
        return self.battery_functional(_energy, rho)

    def capacity(self, rho):
        """Battery capacity K = E_active - E_passive of rho_B with respect to H_B (Yang et al. 2023)."""
        return self.battery_functional(_capacity, rho)


class AbstractLindbladBattery(AbstractBattery):
    """A battery given by a Hamiltonian, jump operators and an initial density matrix.

    Implement ``hamiltonian``, ``battery_hamiltonian``, ``jump_ops``, ``initial_state`` and
    ``battery_state``; everything else follows from the core:

    * ``liouvillian(t)`` = -i[H, .] + sum_k D[L_k] (row-major vec, :func:`qbjax.liouvillian`), or
      -i[H, .] + sum_k gamma_k D[A_k], linear in the rates, for a model with the optional
      ``jump_terms(t)`` -> (A_k, gamma_k);
    * ``evolve(ts, rho0)``: :func:`qbjax.evolve` (diffrax on the real form of vec(rho); the jump
      operators may depend on time when ``time_dependent`` is True);
    * ``steady_state()``: :func:`qbjax.steady_state` of ``liouvillian(0.0)`` (an error where it is not
      unique), ``steady_ergotropy()``;
    * ``ergotropy(rho)``: :func:`qbjax.ergotropy` of ``battery_state(rho)`` against H_B;

    and ``features()`` is the model's own choice (:func:`steady_features` gives the steady-state
    energy, ergotropy, capacity and purity of the battery).
    """

    time_dependent: ClassVar[bool] = False
    evolve_tolerances: ClassVar[dict] = {"rtol": 1e-8, "atol": 1e-10}

    @abc.abstractmethod
    def jump_ops(self, t=0.0):
        """Jump operators with their rates folded in, (*batch, K, d, d)."""

    def liouvillian(self, t=0.0):
        """Lindblad generator L(t) = -i[H, .] + sum_k D[L_k(t)], (*batch, d^2, d^2), row-major vec.

        A model that also defines ``jump_terms(t)``, returning the pair (A_k (*batch, K, d, d), rates
        gamma_k (*batch, K)) with ``jump_ops(t)`` = sqrt(gamma_k) A_k, gets L = -i[H, .] + sum_k gamma_k
        D[A_k] (:func:`qbjax.liouvillian` with ``rates``): linear in each rate, so gradients with respect
        to a rate are exact at rate = 0 (through sqrt(gamma) they would be NaN there).
        """
        t = jnp.asarray(t, dtype=float)
        terms = getattr(self, "jump_terms", None)  # optional hook (a model's own method, never a default)
        # built from the model's checked parameters, and evaluated at every step of a time-dependent
        # solve: no host callback here (evolve checks the generator at t0)
        if terms is None:
            return _liouvillian(self.hamiltonian(), self.jump_ops(t), validate=False)
        ops, rates = terms(t)
        return _liouvillian(self.hamiltonian(), ops, rates=rates, validate=False)

    def lindblad_rhs(self, t, rho):
        """d rho/dt = L(t) rho in operator form (:func:`qbjax._superop.lindblad_rhs` with the model's
        ``hamiltonian()`` and ``jump_terms(t)`` or ``jump_ops(t)``): the same master equation as
        ``liouvillian(t)`` at O(K d^3) a call instead of O(d^4), for time-dependent solves that rebuild
        the generator at every step (:mod:`qbjax.control`).  ``rho`` (*batch, d, d); no validation."""
        t = jnp.asarray(t, dtype=float)
        terms = getattr(self, "jump_terms", None)
        H = self.hamiltonian()
        if terms is None:
            return _lindblad_rhs(H, self.jump_ops(t), rho)
        ops, rates = terms(t)
        return _lindblad_rhs(H, ops, rho, rates=rates)

    def evolve(self, ts, rho0=None, **kwargs):
        """System density matrices at the times ``ts`` >= t0, started from ``rho0`` (default
        :meth:`initial_state`) at t0 = 0 (or the keyword ``t0``), (*batch, n_t, d, d).

        Keyword arguments go to :func:`qbjax.evolve` (solver, t0, ...); the tolerances default to the
        class's ``evolve_tolerances``.  Raises ``ValueError`` naming ``ts`` where it is not 1-D, empty,
        finite or strictly increasing or starts before t0, and naming ``rho0`` where it is not a density
        matrix of the system's dimension (square, finite, Hermitian, unit trace, positive; tolerance
        :func:`qbjax._validate.state_tolerance`); ``eqx.error_if`` when traced.
        """
        kwargs = {"t0": 0.0, **self.evolve_tolerances, **kwargs, "validate": False}  # checked here instead
        ts = check_times(ts, "ts", start=kwargs["t0"], start_name="t0")
        if rho0 is not None:
            rho0 = check_state(rho0, "rho0", size=eqx.filter_eval_shape(self.hamiltonian).shape[-1])
        return self._evolve_states(ts, rho0, kwargs)

    @eqx.filter_jit
    def _evolve_states(self, ts, rho0, kwargs):
        rho0 = self.initial_state() if rho0 is None else rho0
        if not self.time_dependent:
            return _evolve(self.liouvillian(), rho0, ts, **kwargs)
        if self.batch_shape:  # qb.evolve takes one callable t -> L(t): one member at a time
            return self.map_members(lambda m, r: _evolve(m.liouvillian, r, ts, **kwargs), rho0)
        return _evolve(self.liouvillian, rho0, ts, **kwargs)

    def ergotropy(self, rho):
        """Ergotropy of ``battery_state(rho)`` with respect to H_B (eigenvalues only: finite gradients)."""
        return self.battery_functional(_ergotropy, rho)

    def ergotropy_curve(self, ts, rho0=None, **kwargs):
        """``ergotropy(evolve(ts, rho0))``, (*batch, n_t); ``ts`` and ``rho0`` are checked by :meth:`evolve`."""
        return self.ergotropy(self.evolve(ts, rho0, **kwargs))

    @eqx.filter_jit
    def steady_state(self):
        """The unique steady state of ``liouvillian(0.0)``, (*batch, d, d); raises where it is not unique."""
        return _steady_state(self.liouvillian(), validate=False)  # L of the core liouvillian: trace preserving

    def steady_ergotropy(self):
        """Ergotropy of the battery in the steady state, ``batch_shape``."""
        return self.ergotropy(self.steady_state())


def steady_features(model: AbstractLindbladBattery) -> dict:
    """Steady-state battery ``energy``, ``ergotropy``, ``capacity`` and ``purity`` of a Lindblad battery
    (each ``batch_shape``): a ready ``features()`` for a battery whose steady state is unique
    (``def features(self): return steady_features(self)``).  The functionals run unchecked
    (``validate=False``) on the model's own steady state: a features() is a sweep's hot path."""
    rho = model.steady_state()

    def of(fn):
        return model.battery_functional(partial(fn, validate=False), rho)

    return {
        "energy": of(_energy),
        "ergotropy": of(_ergotropy),
        "capacity": of(_capacity),
        "purity": _purity(model.battery_state(rho), validate=False),
    }
