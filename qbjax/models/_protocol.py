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
``steady_state()`` and ``steady_ergotropy()``; each method documents its inputs, shapes and errors
(``ValueError`` naming the argument, ``eqx.error_if`` when traced).  The table in :mod:`qbjax.models`
lists what each built-in model implements and the state representation it uses.

Batching: array fields broadcast to ``batch_shape`` (a field's own trailing axes are declared in
``field_ndims``), every output carries it in front, and ``jax.vmap`` over models works.  A system state
passed to ``battery_state``/``energy``/``ergotropy`` has the batch axes first, then axes of its own (a
time axis, say), then the state axes.  Each parameter's rule is declared once, in ``constraints``
(:mod:`qbjax._validate`): checked at construction, or where a traced value is read (:meth:`parameters`).

Equinox's abstract/final pattern: concrete methods are never overridden, the models are final.  A
battery given by H, jump operators and a start needs only :class:`AbstractLindbladBattery`.
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

    The batch axes lead both; the axes ``state`` has beyond them (time, say) become singletons in
    ``op``.  An unbatched ``op`` (n, n) is returned as it is."""
    op = jnp.asarray(op)
    extra = jnp.ndim(state) - op.ndim
    if op.ndim <= 2 or extra <= 0:
        return op
    return op.reshape(op.shape[:-2] + (1,) * extra + op.shape[-2:])


class AbstractBattery(eqx.Module):
    """The protocol every battery model implements (see the module docstring for the table).

    Subclasses declare their parameter rules in ``constraints`` and the intrinsic axes of fields that are
    not scalars per configuration in ``field_ndims`` (``{"omega": 1}``: one frequency per cell)."""

    constraints: ClassVar[tuple[Constraint, ...]] = ()
    field_ndims: ClassVar[dict[str, int]] = {}

    def __check_init__(self):
        enforce(self._array_fields(), self.constraints, traced=False)

    # -- parameters and batching (concrete, shared by every model) -------------------------------
    def _array_fields(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if not f.metadata.get("static", False) and isinstance(getattr(self, f.name), (jax.Array, np.ndarray))}

    def parameters(self, trailing: int | None = None) -> dict:
        """The model's array fields (its physical parameters) by name, guarded by its ``constraints``.

        Traced fields get one run-time check for all the constraints (concrete ones: at construction).

        Args:
            trailing: ``None`` (default): the fields as stored.  An integer k: each broadcast to
                ``batch_shape`` (plus its ``field_ndims`` axes), scalars with k trailing singleton axes:
                with ``p = self.parameters(2)``, ``p["J"] * hop`` has shape (*batch, d, d).

        Returns:
            dict name -> array (float64 by default), each in the model's units.

        Raises:
            ValueError: naming the parameter whose constraint fails (traced: at run time, ``eqx.error_if``).
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
        """The model with its traced array fields guarded by its constraints (as :meth:`parameters`).

        Returns:
            a model of the same class and ``batch_shape``.

        Raises:
            ValueError: naming the parameter whose constraint fails (traced: at run time, ``eqx.error_if``).
        """
        values = self.parameters()
        names = list(values)
        return eqx.tree_at(lambda m: [getattr(m, k) for k in names], self, [values[k] for k in names])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The model's batch shape: the broadcast shape of its array fields without their intrinsic axes.

        Returns:
            tuple of ints, ``()`` for one configuration.

        Raises:
            ValueError: when the array fields do not broadcast together (their shapes are listed).
        """
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
        """The model with every array field broadcast to ``batch_shape`` and flattened to one axis.

        Returns:
            the same class, fields (B,) plus intrinsic axes, B = prod(batch_shape): for ``eqx.filter_vmap``.
        """
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

        Args:
            fn: ``fn(model, *args)`` for one unbatched configuration, returning a pytree of arrays.
            *args: passed to every call unchanged (not mapped).

        Returns:
            the pytree of ``fn``, every leaf with ``batch_shape`` prepended.
        """
        bs = self.batch_shape
        if not bs:
            return fn(self, *args)
        out = eqx.filter_vmap(lambda m: fn(m, *args))(self.members())
        return jax.tree_util.tree_map(lambda x: x.reshape(bs + x.shape[1:]), out)

    # -- the vocabulary --------------------------------------------------------------------------
    @abc.abstractmethod
    def hamiltonian(self):
        """Hamiltonian H of the whole system (all of what :meth:`evolve` evolves).

        Returns:
            Hermitian array (*batch, d, d), in the model's energy unit (hbar = 1).
        """

    @abc.abstractmethod
    def battery_hamiltonian(self):
        """The battery Hamiltonian H_B: what :meth:`energy` and :meth:`ergotropy` refer to.

        Returns:
            Hermitian array (*batch, d_B, d_B) on the battery's space, in the model's energy unit.
        """

    @abc.abstractmethod
    def initial_state(self):
        """The model's default initial system state: the start of :meth:`evolve` when ``rho0`` is None.

        Returns:
            a system state, (*batch, *state) or (*state) when it does not depend on the parameters
            (a (d, d) density matrix for most models; the table in :mod:`qbjax.models`).
        """

    @abc.abstractmethod
    def evolve(self, ts, rho0=None):
        """System states rho(t) at the times ``ts``, from ``rho0`` at the model's start time.

        Args:
            ts: save times (n_t,), in the inverse of the model's energy unit: 1-D, non-empty, finite,
                strictly increasing and not before the start (t = 0 unless the model takes ``t0``).
            rho0: initial system state (*state) or (*batch, *state); default :meth:`initial_state`.

        Returns:
            states (*batch, n_t, *state).

        Raises:
            ValueError: naming ``ts`` or ``rho0`` (not a state of the system's dimension, within
                :func:`qbjax._validate.state_tolerance`); ``eqx.error_if`` when traced.
        """

    @abc.abstractmethod
    def battery_state(self, rho):
        """The battery's density matrix rho_B in the system state(s) ``rho`` (a partial trace, say).

        Args:
            rho: system state(s) (*batch, *extra, *state); *extra: axes of its own (a time axis, say).

        Returns:
            density matrices (*batch, *extra, d_B, d_B).

        Raises:
            ValueError: naming ``rho`` when it is not a state of the system (where the model checks).
        """

    @abc.abstractmethod
    def ergotropy(self, rho):
        """Ergotropy W = Tr(rho_B H_B) - E_p(rho_B) of the battery in the system state(s) ``rho``.

        Args:
            rho: system state(s) (*batch, *extra, *state), as for :meth:`battery_state`.

        Returns:
            real array (*batch, *extra), in the model's energy unit.

        Raises:
            ValueError: naming ``rho`` when its battery part is not a density matrix.
        """

    @abc.abstractmethod
    def ergotropy_curve(self, ts, rho0=None):
        """Charging curve W(t) = ergotropy(evolve(ts, rho0)).

        Args:
            ts: save times (n_t,), inverse energy unit, checked as in :meth:`evolve`.
            rho0: initial system state; default :meth:`initial_state`.

        Returns:
            real array (*batch, n_t), in the model's energy unit.

        Raises:
            ValueError: naming ``ts`` or ``rho0`` (see :meth:`evolve`).
        """

    @abc.abstractmethod
    def features(self) -> dict:
        """Named scalars per configuration: what a sweep (``qbjax sweep``) stores as dataset columns.

        Returns:
            dict name -> real array of shape ``batch_shape`` (the model chooses the names and units).
        """

    # -- derived battery functionals (concrete) --------------------------------------------------
    def battery_functional(self, fn, rho):
        """``fn(rho_B, H_B)``: a core functional of the battery state rho_B = battery_state(rho).

        Args:
            fn: a core functional ``fn(rho, H)`` (``qb.energy``, ``qb.ergotropy``, ``qb.capacity``,
                ``qb.passive_energy``, ...).
            rho: system state(s) (*batch, *extra, *state).

        Returns:
            the output of ``fn``, (*batch, *extra) for the energy functionals (model's energy unit).

        Raises:
            ValueError: naming ``rho`` when rho_B is not a density matrix (``fn``'s checks).

        Example:
            >>> m.battery_functional(qb.passive_energy, m.evolve(ts))  # (*batch, n_t)
        """
        rho_b = self.battery_state(rho)
        return fn(rho_b, align(self.battery_hamiltonian(), rho_b))

    def energy(self, rho):
        """Battery energy E = Tr(rho_B H_B) of the system state(s) ``rho``.

        Args:
            rho: system state(s) (*batch, *extra, *state).

        Returns:
            real array (*batch, *extra), in the model's energy unit (that of H_B).

        Raises:
            ValueError: naming ``rho`` when rho_B is not a density matrix (``eqx.error_if`` when traced).
        """
        return self.battery_functional(_energy, rho)

    def capacity(self, rho):
        """Battery capacity K = E_a - E_p of rho_B with respect to H_B (Yang et al., PRL 131, 030402 (2023)).

        Args:
            rho: system state(s) (*batch, *extra, *state).

        Returns:
            real array (*batch, *extra) >= 0, in the model's energy unit.

        Raises:
            ValueError: naming ``rho`` when rho_B is not a density matrix (``eqx.error_if`` when traced).
        """
        return self.battery_functional(_capacity, rho)


class AbstractLindbladBattery(AbstractBattery):
    """A battery given by a Hamiltonian, jump operators and an initial density matrix.

    Implement ``hamiltonian``, ``battery_hamiltonian``, ``jump_ops`` (optionally ``jump_terms``),
    ``initial_state``, ``battery_state`` and ``features`` (:func:`steady_features` is a ready one); the
    rest follows from the core (time-dependent jump operators when ``time_dependent`` is True)."""

    time_dependent: ClassVar[bool] = False
    evolve_tolerances: ClassVar[dict] = {"rtol": 1e-8, "atol": 1e-10}

    @abc.abstractmethod
    def jump_ops(self, t=0.0):
        """Jump operators L_k(t) = sqrt(gamma_k) A_k with their rates folded in.

        Args:
            t: time (scalar), inverse energy unit; read only when ``time_dependent`` is True.

        Returns:
            array (*batch, K, d, d), in units of sqrt(energy).
        """

    def liouvillian(self, t=0.0):
        """Lindblad generator L(t) = -i[H, .] + sum_k D[L_k(t)], (*batch, d^2, d^2), row-major vec.

        A model that also defines ``jump_terms(t)`` -> (A_k (*batch, K, d, d), gamma_k (*batch, K)),
        ``jump_ops`` = sqrt(gamma_k) A_k, gets L = -i[H, .] + sum_k gamma_k D[A_k], linear in each rate:
        gradients are exact at rate = 0 (through sqrt(gamma) they would be NaN).  No validation.

        Args:
            t: time (scalar), inverse energy unit; read only by a time-dependent model.

        Returns:
            complex array (*batch, d^2, d^2) acting on row-major vec(rho), in the energy unit.
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
        """d rho/dt = L(t) rho in operator form (:func:`qbjax._superop.lindblad_rhs`), no validation.

        The master equation of ``liouvillian(t)`` at O(K d^3) a call instead of O(d^4), for solves that
        rebuild the generator at every step (:mod:`qbjax.control`).

        Args:
            t: time (scalar), inverse energy unit.
            rho: density matrices (*batch, d, d).

        Returns:
            d rho/dt, (*batch, d, d) complex, in energy units times those of ``rho``.
        """
        t = jnp.asarray(t, dtype=float)
        terms = getattr(self, "jump_terms", None)
        H = self.hamiltonian()
        if terms is None:
            return _lindblad_rhs(H, self.jump_ops(t), rho)
        ops, rates = terms(t)
        return _lindblad_rhs(H, ops, rho, rates=rates)

    def evolve(self, ts, rho0=None, **kwargs):
        """System density matrices rho(t) = exp(L t) rho0 (a time-dependent L(t) integrated) at ``ts``.

        By :func:`qbjax.evolve` (diffrax) from ``rho0`` at t0 = 0 (or the keyword ``t0``).

        Args:
            ts: save times (n_t,) >= t0, inverse energy unit: 1-D, non-empty, finite, strictly increasing.
            rho0: initial density matrix (d, d) or (*batch, d, d); default :meth:`initial_state`.
            **kwargs: to :func:`qbjax.evolve` (``t0``, ``solver``, ``rtol``, ``atol``, ``max_steps``,
                ``dt0``, ``adjoint``); tolerances default to the class's ``evolve_tolerances``.

        Returns:
            complex array (*batch, n_t, d, d).

        Raises:
            ValueError: naming ``ts`` (not 1-D, empty, finite or strictly increasing; before t0) or
                ``rho0`` (not a (d, d) density matrix: square, finite, Hermitian, unit trace, positive
                within :func:`qbjax._validate.state_tolerance`); ``eqx.error_if`` when traced.

        Example:
            >>> rho = model.evolve(jnp.linspace(0.0, 10.0, 101))  # (*batch, 101, d, d)
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
        """Ergotropy W = Tr(rho_B H_B) - E_p(rho_B) of ``battery_state(rho)`` (:func:`qbjax.ergotropy`).

        Args:
            rho: system density matrices (*batch, *extra, d, d).

        Returns:
            real array (*batch, *extra), in the energy unit of H_B.

        Raises:
            ValueError: naming ``rho`` when rho_B is not a density matrix (``eqx.error_if`` when traced).
        """
        return self.battery_functional(_ergotropy, rho)

    def ergotropy_curve(self, ts, rho0=None, **kwargs):
        """Charging curve W(t) = ``ergotropy(evolve(ts, rho0))``.

        Args:
            ts: save times (n_t,), inverse energy unit (checked by :meth:`evolve`).
            rho0: initial density matrix; default :meth:`initial_state`.
            **kwargs: passed to :meth:`evolve`.

        Returns:
            real array (*batch, n_t), in the energy unit of H_B.

        Raises:
            ValueError: naming ``ts`` or ``rho0``, as :meth:`evolve`.
        """
        return self.ergotropy(self.evolve(ts, rho0, **kwargs))

    @eqx.filter_jit
    def steady_state(self):
        """The unique steady state rho_ss of ``liouvillian(0.0)``: L vec(rho_ss) = 0, Tr rho_ss = 1.

        Returns:
            Hermitian, unit-trace array (*batch, d, d).

        Raises:
            RuntimeError: "steady state: singular system" (``eqx.error_if``) where the steady state is
                not unique; with ``qb.set_validation(False)`` those members are NaN instead.
        """
        return _steady_state(self.liouvillian(), validate=False)  # L of the core liouvillian: trace preserving

    def steady_ergotropy(self):
        """Steady-state ergotropy W = ergotropy(steady_state()).

        Returns:
            real array of shape ``batch_shape``, in the energy unit of H_B.

        Raises:
            RuntimeError: where the steady state is not unique (see :meth:`steady_state`).
        """
        return self.ergotropy(self.steady_state())


def steady_features(model: AbstractLindbladBattery) -> dict:
    """Steady-state battery ``energy``, ``ergotropy``, ``capacity`` and ``purity``, each ``batch_shape``.

    A ready ``features()`` (``def features(self): return steady_features(self)``) for a battery whose
    steady state is unique; the functionals run unchecked on the model's own steady state."""
    rho = model.steady_state()

    def of(fn):
        return model.battery_functional(partial(fn, validate=False), rho)

    return {
        "energy": of(_energy),
        "ergotropy": of(_ergotropy),
        "capacity": of(_capacity),
        "purity": _purity(model.battery_state(rho), validate=False),
    }
