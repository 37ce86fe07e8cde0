"""Charger-battery qubit pair (Downing & Ukhtary, "Charging a quantum battery from the Bloch sphere").

A charger qubit a starts in cos(theta/2)|0> + e^{i phi} sin(theta/2)|1>, the battery qubit b in |0>;

    H = omega_b (sa^dag sa + sb^dag sb) + J (sa^dag sb + sb^dag sa),      sa = |0><1| (x) 1, etc.

with optional charger decay gamma D[sa] (units: hbar = 1, rates and J in units of energy).  The
two-qubit space is ordered charger (x) battery.  ``ChargerBattery`` evolves this numerically (core
``liouvillian`` + ``evolve``; at gamma = 0 also as kets, ``evolve_ket`` with ``sesolve``);
:func:`closed_form` holds the paper's formulas, with these errata:

* Eq. (60) repeats sa^dag sa rho; the dissipator is the standard Lindblad one gamma D[sa].
* Eqs. (24), (28) lack a factor -i:  <sa^dag sb> = -(i/2) sin^2(theta/2) sin(2Jt),
  <sb> = -(i/2) e^{i phi} sin(theta) sin(Jt) e^{-i omega_b t}.
* Eq. (36): sin^2(2Jt) must read sin^2(Jt) (the only form consistent with Eq. (37)).
* Eqs. (65)-(68) are first order in gamma; their error grows as gamma^2.
"""

from __future__ import annotations

from typing import ClassVar

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._ergotropy import antiergotropy, capacity, energy, ergotropy, passive_energy
from .._roots import bisect, grid_argmax_stacked
from .._sesolve import sesolve as _sesolve
from .._states import concurrence as _concurrence
from .._states import partial_trace
from .._validate import Constraint, as_float, as_int, checks, enforce, finite, finite_rules, is_concrete, nonnegative
from ._protocol import AbstractLindbladBattery, align

_SIGMA = np.array([[0.0, 1.0], [0.0, 0.0]])  # |0><1|: lowers |1> (excited) to |0>
_SA = np.kron(_SIGMA, np.eye(2))  # charger lowering operator on charger (x) battery
_SB = np.kron(np.eye(2), _SIGMA)  # battery lowering operator


def _field(name):
    return lambda x: as_float(x, name)


class ChargerBattery(AbstractLindbladBattery):
    """Charger qubit (Bloch angles ``theta``, ``phi``) coupled by ``J`` to a battery qubit in |0>.

    Fields (JAX arrays that broadcast to ``batch_shape``; ``vmap`` over models works too): ``theta``
    in [0, pi], ``phi``, coupling ``J`` >= 0, level splitting ``omega_b``, charger decay rate
    ``gamma`` >= 0 (all in units of energy, hbar = 1; times in 1/energy).

    System: the two qubits, charger (x) battery, states (*batch, 4, 4); battery: qubit b with
    H_b = omega_b sb^dag sb.  The evolution starts at t = 0 from |alpha> (x) |0>.
    """

    theta: jax.Array = eqx.field(converter=_field("theta"))
    phi: jax.Array = eqx.field(default=0.0, converter=_field("phi"))
    J: jax.Array = eqx.field(default=1.0, converter=_field("J"))
    omega_b: jax.Array = eqx.field(default=1.0, converter=_field("omega_b"))
    gamma: jax.Array = eqx.field(default=0.0, converter=_field("gamma"))

    constraints: ClassVar = (nonnegative("J", "charger-battery coupling"), nonnegative("gamma", "charger decay rate"),
                             *(finite(f) for f in ("theta", "phi", "J", "omega_b", "gamma")))
    evolve_tolerances: ClassVar = {"rtol": 1e-10, "atol": 1e-12}

    # -- operators -------------------------------------------------------------------------------
    def hamiltonian(self):
        """H = omega_b (sa^dag sa + sb^dag sb) + J (sa^dag sb + sb^dag sa) on charger (x) battery.

        Returns:
            complex array (*batch, 4, 4), units of energy (hbar = 1).
        """
        p = self.parameters(2)
        n = _SA.T @ _SA + _SB.T @ _SB
        hop = _SA.T @ _SB + _SB.T @ _SA
        return (p["omega_b"] * n + p["J"] * hop).astype(jnp.result_type(complex))

    def jump_ops(self, t=0.0):
        """The one jump operator sqrt(gamma) sa of the charger decay gamma D[sa] (Eq. (60), corrected).

        Args:
            t: time (scalar), unused (the model is time independent).

        Returns:
            complex array (*batch, 1, 4, 4), units of sqrt(energy).
        """
        p = self.parameters(3)
        return (jnp.sqrt(p["gamma"]) * _SA).astype(jnp.result_type(complex))

    def jump_terms(self, t=0.0):
        """The dissipator as (A_k, gamma_k) = (sa, gamma): the Liouvillian's gamma D[sa], linear in gamma.

        Exact gradients at gamma = 0, where d sqrt(gamma) / d gamma diverges.

        Args:
            t: time (scalar), unused (the model is time independent).

        Returns:
            (sa as a complex (1, 4, 4) array, gamma (*batch, 1) in units of energy).
        """
        gamma = self.parameters(1)["gamma"]
        return jnp.asarray(_SA[None], dtype=jnp.result_type(complex)), gamma

    def battery_hamiltonian(self):
        """H_b = omega_b sb^dag sb on the battery qubit (levels 0 and omega_b).

        Returns:
            complex array (*batch, 2, 2), units of energy.
        """
        p = self.parameters(2)
        return (p["omega_b"] * (_SIGMA.T @ _SIGMA)).astype(jnp.result_type(complex))

    def initial_ket(self):
        """The start |alpha> (x) |0> = (cos(theta/2) |0> + e^{i phi} sin(theta/2) |1>) (x) |0>.

        Returns:
            normalised complex ket (*batch, 4), charger (x) battery.
        """
        p = self.parameters(0)
        a0 = jnp.cos(p["theta"] / 2) + 0j
        a1 = jnp.exp(1j * p["phi"]) * jnp.sin(p["theta"] / 2)
        z = jnp.zeros_like(a0)
        return jnp.stack([a0, z, a1, z], axis=-1)

    def initial_state(self):
        """The start |alpha><alpha| (x) |0><0| (:meth:`initial_ket` as a density matrix), at t = 0.

        Returns:
            complex array (*batch, 4, 4), a pure state.
        """
        psi = self.initial_ket()
        return psi[..., :, None] * jnp.conj(psi)[..., None, :]

    def battery_state(self, rho):
        """Reduced battery state rho_b = Tr_a rho (the charger traced out).

        Args:
            rho: two-qubit density matrices (*batch, *extra, 4, 4), charger (x) battery.

        Returns:
            complex array (*batch, *extra, 2, 2).

        Raises:
            ValueError: naming ``rho`` when it is not a (4, 4) density matrix (``eqx.error_if`` when traced).
        """
        return partial_trace(rho, (2, 2), keep=1)

    def concurrence(self, rho):
        """Wootters concurrence C(rho) in [0, 1] of two-qubit states (closed form at gamma = 0: Eq. (59)).

        Args:
            rho: density matrices (..., 4, 4), charger (x) battery.

        Returns:
            real array (...), dimensionless.

        Raises:
            ValueError: naming ``rho`` when it is not a density matrix (``eqx.error_if`` when traced).
        """
        return _concurrence(rho)

    # -- dynamics --------------------------------------------------------------------------------
    def evolve_ket(self, ts, psi0=None, **kwargs):
        """Closed-system (gamma = 0) kets at the times ``ts`` >= t0 = 0, (*batch, n_t, 4), charger (x) battery.

        The Schroedinger equation by :func:`qbjax.sesolve` (d = 4 amplitudes a step instead of the 16
        of vec(rho)), from ``psi0`` (default :meth:`initial_ket`); ``ket2dm`` of the result equals
        :meth:`evolve` at gamma = 0.  Keyword arguments go to :func:`qbjax.sesolve` (tolerances
        default to ``evolve_tolerances``), which checks ``ts`` and ``psi0`` (``ValueError`` naming
        them).  Raises ``ValueError`` naming ``gamma`` unless gamma == 0 (``eqx.error_if`` when traced):
        a decaying charger has no ket evolution, use :meth:`evolve`.

        Args:
            ts: save times (n_t,) >= 0, units 1/energy, strictly increasing.
            psi0: initial ket (4,) or (*batch, 4), normalised; default :meth:`initial_ket`.
            **kwargs: passed to :func:`qbjax.sesolve` (``solver``, ``rtol``, ``atol``, ...).

        Returns:
            complex array (*batch, n_t, 4).

        Raises:
            ValueError: naming ``gamma`` (gamma != 0), ``ts`` (not 1-D, empty, finite or strictly
                increasing, before t0) or ``psi0`` (not a finite, normalised ket of size 4).
        """
        p = self.parameters(2)
        H = checks(self.hamiltonian(), [(p["gamma"] == 0, "gamma must be 0 for evolve_ket (a closed system); "
                                         "use evolve for gamma > 0")])
        psi0 = self.initial_ket() if psi0 is None else psi0
        return _sesolve(H, psi0, ts, **{"t0": 0.0, **self.evolve_tolerances, **kwargs})

    def curves(self, ts, rho0=None, **kwargs):
        """Every charging curve of the paper from one solve, at times ``ts`` > 0 (dict of (*batch, n_t)).

        Keys as :func:`closed_form`: ``energy``, ``variance`` (of H_b), ``passive_energy``, ``ergotropy``,
        ``antiergotropy``, ``capacity``, ``concurrence``, ``inversion`` (rho_b[1, 1] - 1/2),
        ``coherence`` (|rho_b[0, 1]|), ``power`` (E / t) and ``ergotropic_power`` (ergotropy / t).
        Energies in units of energy, powers in energy^2 (energy per unit time).

        Args:
            ts: save times (n_t,) > 0 (power divides by t), units 1/energy, strictly increasing.
            rho0: initial (4, 4) density matrix; default :meth:`initial_state`.
            **kwargs: passed to :meth:`evolve`.

        Returns:
            dict of real arrays (*batch, n_t).

        Raises:
            ValueError: naming ``ts`` or ``rho0``, as :meth:`evolve`.

        Example:
            >>> ChargerBattery(theta=jnp.pi / 2).curves(jnp.linspace(0.1, 3.0, 30))["ergotropy"]
        """
        rho = self.evolve(ts, rho0, **kwargs)  # the functionals below run unchecked on its states
        rb = partial_trace(rho, (2, 2), keep=1, validate=False)
        Hb = align(self.battery_hamiltonian(), rb)
        E = energy(rb, Hb, validate=False)
        erg = ergotropy(rb, Hb, validate=False)
        ts = jnp.asarray(ts)
        return {
            "energy": E,
            "variance": energy(rb, Hb @ Hb, validate=False) - E**2,
            "passive_energy": passive_energy(rb, Hb, validate=False),
            "ergotropy": erg,
            "antiergotropy": antiergotropy(rb, Hb, validate=False),
            "capacity": capacity(rb, Hb, validate=False),
            "concurrence": _concurrence(rho, validate=False),
            "inversion": jnp.real(rb[..., 1, 1]) - 0.5,
            "coherence": jnp.abs(rb[..., 0, 1]),
            "power": E / ts,
            "ergotropic_power": erg / ts,
        }

    def optimal_times(self, t_max=None, n_grid: int = 2001):
        """Numerical optimal times and peaks on (0, t_max] (default t_max = pi / J), each ``batch_shape``.

        Returns a dict with ``t_E, E_max`` (energy), ``t_erg, erg_max`` (ergotropy), ``t_P, P_max``
        (power E/t) and ``t_Pe, Pe_max`` (ergotropic power).  The state at each trial time is the
        exact propagator exp(L t) applied to the initial state (no closed form is used).

        Args:
            t_max: end of the search window, units 1/energy; default pi / J.
            n_grid: number of grid times on (0, t_max] before the refinement, an integer >= 2.

        Returns:
            dict of 8 real arrays of shape ``batch_shape``: times in 1/energy, E_max and erg_max in
            energy, P_max and Pe_max in energy^2.

        Raises:
            ValueError: naming ``t_max`` unless it is finite and > 0, ``n_grid`` unless it is an integer
                >= 2, and ``J`` when t_max is left to its default and J = 0 (no coupling: the battery
                never charges, every peak is 0 at no particular time, and pi / J is infinite; pass
                ``t_max`` to get the zero curves); ``eqx.error_if`` when traced.
        """
        n_grid = as_int(n_grid, "n_grid", minimum=2)
        if t_max is not None:
            t_max = jnp.asarray(t_max, dtype=jnp.result_type(float))
            t_max = checks(t_max, finite_rules(t_max, "t_max") + [(lambda: t_max > 0, "t_max must be > 0")])
        else:  # concrete J checked now; a traced J inside, with the constraints (one run-time check)
            enforce({"J": self.J}, (_DEFAULT_T_MAX,), traced=False)
        return self._optimal_times(t_max, n_grid)

    @eqx.filter_jit
    def _optimal_times(self, t_max, n_grid: int):
        return self.map_members(_optimal_times, t_max, n_grid)

    def features(self, t_max=None, n_grid: int = 2001) -> dict:
        """The optimal charging times and peaks of :meth:`optimal_times`: what a sweep stores.

        Args:
            t_max: end of the search window, units 1/energy; default pi / J.
            n_grid: number of grid times, an integer >= 2.

        Returns:
            dict ``t_E, E_max, t_erg, erg_max, t_P, P_max, t_Pe, Pe_max``, each ``batch_shape``.

        Raises:
            ValueError: naming ``t_max``, ``n_grid`` or ``J``, as :meth:`optimal_times`.
        """
        return self.optimal_times(t_max, n_grid)


_DEFAULT_T_MAX = Constraint("J", lambda J: J > 0, "J must be > 0 for the default t_max = pi / J of optimal_times "
                            "(at J = 0 the battery never charges); pass t_max")


def _optimal_times(m: ChargerBattery, t_max, n_grid: int) -> dict:
    """:meth:`ChargerBattery.optimal_times` for one (unbatched) configuration."""
    if t_max is None:  # the J > 0 rule joins the model's constraints: still one run-time check
        t_max = jnp.pi / enforce(m._array_fields(), m.constraints + (_DEFAULT_T_MAX,), eager=False)["J"]
    L = m.liouvillian()
    x0 = m.initial_state().reshape(16)
    Hb = m.battery_hamiltonian()
    lo = t_max * 1e-6

    def battery(x):  # the model's own states: no validation in this hot path (features)
        return partial_trace(x.reshape(x.shape[:-1] + (4, 4)), (2, 2), keep=1, validate=False)

    def propagators(ts):  # exp(L t) for the times ts (any shape): ONE batched expm
        return jax.scipy.linalg.expm(L * ts[..., None, None])

    # grid states by repeated application of the one-step propagator exp(L dt)
    step, start = propagators(jnp.stack([(t_max - lo) / (n_grid - 1), lo]))
    _, xs = jax.lax.scan(lambda x, _: (step @ x, x), start @ x0, None, length=n_grid)
    rho_grid = battery(xs)
    grid = jnp.linspace(lo, t_max, n_grid)
    E, W = partial(energy, validate=False), partial(ergotropy, validate=False)
    e_grid, erg_grid = E(rho_grid, Hb), W(rho_grid, Hb)

    def targets(ts):  # rows E, erg, P = E / t, Pe = erg / t, each at its own row of times ts (4, k)
        rho = battery(propagators(ts) @ x0)
        e, w = E(rho, Hb), W(rho, Hb)
        return jnp.stack([e[0], w[1], e[2] / ts[2], w[3] / ts[3]])

    # the four searches as one (one batched expm per step: a single chain of LAPACK calls, which
    # batched over a sweep's configurations cannot deadlock XLA's CPU pool; see qbjax._roots)
    values = jnp.stack([e_grid, erg_grid, e_grid / grid, erg_grid / grid])
    t_opt, f_opt = grid_argmax_stacked(targets, lo, t_max, values)
    out = {}
    for i, key in enumerate(("E", "erg", "P", "Pe")):
        out[f"t_{key}"] = t_opt[i]
        out[f"{key}_max"] = f_opt[i]
    return out


# ---------------------------------------------------------------------------------------------
# the paper's closed forms
# ---------------------------------------------------------------------------------------------


def constants():
    """The paper's numbers, by qbjax's own root finding (bisection to float64 resolution).

    A: tan A = 2A (Eq. 34);  B = sin^2 A / A (Eq. 35);  C: 1 + 2C tan 2C = 0 (Eq. 42);
    D = -cos(2C) / C (Eq. 44);  K = -A tan(2A) / 4;  L = K / A (Eq. 67).
    """
    A = bisect(lambda x: jnp.tan(x) - 2 * x, 1.0, 1.5)
    C = bisect(lambda x: 1 + 2 * x * jnp.tan(2 * x), jnp.pi / 4 + 1e-6, jnp.pi / 2 - 1e-9)
    K = -A * jnp.tan(2 * A) / 4
    return {
        "A": A,
        "B": jnp.sin(A) ** 2 / A,
        "C": C,
        "D": -jnp.cos(2 * C) / C,
        "K": K,
        "L": K / A,
    }


def _f(ts, J, gamma):
    """f(t) = (J/G) sin(G t) exp(-gamma t / 4), G = sqrt(J^2 - gamma^2/16) (Eq. 69)."""
    G = jnp.sqrt(J**2 - (gamma / 4) ** 2)
    return (J / G) * jnp.sin(G * ts) * jnp.exp(-gamma * ts / 4), G


def closed_form(theta, ts, J=1.0, omega_b=1.0, gamma=0.0):
    """The paper's closed forms at times ``ts`` (dict of arrays, broadcasting theta against ts).

    With gamma = 0 these are Eqs. (22)-(23), (30), (33), (36) corrected, (38), (50)-(52), (55)-(57)
    and (59); with gamma > 0 (requires J > gamma/4, as in the paper) Eqs. (62), (69), (70).  The
    gamma > 0 concurrence, 2 |c_a c_b| with the single-excitation amplitudes, is derived here (the
    paper gives none); at gamma = 0 it reduces to Eq. (59).
    """
    theta = jnp.asarray(theta, dtype=jnp.result_type(float))
    ts = jnp.asarray(ts, dtype=theta.dtype)
    J = jnp.asarray(J, dtype=theta.dtype)
    gamma = jnp.asarray(gamma, dtype=theta.dtype)
    if is_concrete(gamma) and is_concrete(J) and bool(np.any(np.asarray(gamma) >= 4 * np.asarray(J))):
        raise ValueError("closed_form needs J > gamma/4 (the paper's strong-coupling regime)")
    s2 = jnp.sin(theta / 2) ** 2
    f, G = _f(ts, J, gamma)
    inversion = s2 * f**2 - 0.5  # Eq. (55), with f = sin(Jt) at gamma = 0
    coherence = 0.5 * jnp.abs(jnp.sin(theta) * f)  # Eq. (56)
    radius = jnp.sqrt(inversion**2 + coherence**2)
    E = omega_b * s2 * f**2  # Eqs. (30), (62)
    erg = omega_b * (s2 * f**2 - 0.5 * (1 - jnp.sqrt(1 - 4 * s2**2 * f**2 * (1 - f**2))))  # (38), (69)
    K = omega_b * jnp.sqrt(1 - 4 * s2**2 * f**2 * (1 - f**2))  # Eqs. (57), (70)
    c_a = jnp.exp(-gamma * ts / 4) * (jnp.cos(G * ts) - gamma / (4 * G) * jnp.sin(G * ts))
    return {
        "energy": E,
        "variance": omega_b**2 * s2 * f**2 * (1 - s2 * f**2),  # Eq. (36), corrected
        "passive_energy": omega_b * (0.5 - radius),  # Eq. (48)
        "active_energy": omega_b * (0.5 + radius),  # Eq. (49)
        "ergotropy": erg,
        "antiergotropy": omega_b * (inversion - radius),  # Eq. (51)
        "capacity": K,
        "inversion": inversion,
        "coherence": coherence,
        "charger_population": s2 * c_a**2,  # Eq. (22) at gamma = 0
        "concurrence": 2 * s2 * jnp.abs(f * c_a),  # Eq. (59) at gamma = 0
        "power": E / ts,  # Eq. (33)
        "ergotropic_power": erg / ts,
    }


def published_variance(theta, ts, J=1.0, omega_b=1.0):
    """Eq. (36) exactly as printed (with sin^2(2Jt)); kept to show the erratum in reports."""
    s2 = jnp.sin(jnp.asarray(theta) / 2) ** 2
    return omega_b**2 * s2 * jnp.sin(J * ts) ** 2 * (1 - s2 * jnp.sin(2 * J * ts) ** 2)


def approx_t_Pe(theta, J=1.0):
    """Eq. (43): the paper's sigmoid approximation of the ergotropic-power optimal time."""
    theta = jnp.asarray(theta)
    k = 9 * jnp.sqrt(3.0) / 32
    num = 5 / 6 + (1 / 6 + k * jnp.pi**2.5) * (theta / jnp.pi) ** 2.5
    return 7 / 5 * num / (1 + k * theta**2.5) / J


def approx_Pe_max(theta, J=1.0, omega_b=1.0):
    """Eq. (45): the paper's tanh approximation of the peak ergotropic power."""
    return omega_b * J / 3 * (jnp.tanh(jnp.asarray(theta) - jnp.pi / 2) / jnp.tanh(jnp.pi / 2) + 1)


def dissipative_optima(theta, J=1.0, omega_b=1.0, gamma=0.0):
    """The paper's dissipative optimal-time formulas: exact Eqs. (63), (64) and first-order
    Eqs. (65)-(68).  Returns a dict."""
    theta = jnp.asarray(theta, dtype=jnp.result_type(float))
    s2 = jnp.sin(theta / 2) ** 2
    G = jnp.sqrt(J**2 - (gamma / 4) ** 2)
    c = constants()
    return {
        "t_E_exact": jnp.arctan(4 * G / gamma) / G if gamma > 0 else jnp.pi / (2 * J),  # Eq. (63)
        "E_max_exact": omega_b * s2 * jnp.exp(-gamma / (2 * G) * jnp.arctan(4 * G / gamma))
        if gamma > 0
        else omega_b * s2,  # Eq. (64)
        "t_E_first_order": jnp.pi / (2 * J) * (1 - gamma / (2 * jnp.pi * J)),  # Eq. (65)
        "E_max_first_order": omega_b * s2 * (1 - jnp.pi * gamma / (4 * J)),  # Eq. (66)
        "t_P_first_order": c["A"] / J * (1 - c["L"] * gamma / J),  # Eq. (67)
        "P_max_first_order": c["B"] * omega_b * J * s2 * (1 - c["A"] / 2 * gamma / J),  # Eq. (68)
    }
