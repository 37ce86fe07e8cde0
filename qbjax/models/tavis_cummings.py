"""Tavis-Cummings collective battery protected by cavity detuning (paper 003: T. Z. Jawad, "Ergotropy
Protection via Cavity Detuning in Collective Open Quantum Batteries").
N qubits in the symmetric Dicke space (J = N/2, basis |J, M>, index i = 0..N holds M = J - i as ``qutip.jmat``) coupled
to one cavity mode truncated to ``n_cavity`` Fock states; the space Dicke (x) cavity has dimension d = (N + 1) n_cavity.
Units: hbar = 1, every frequency and rate in units of w_b (the paper: w_b = 1), times in 1/w_b.

    H = w_b (J_z + N/2) + (w_b + Delta) a^dag a + g (J_+ a + J_- a^dag),
    d rho/dt = -i [H, rho] + sum_k r_k(t) D[L_k] rho,   D[L] rho = L rho L^dag - {L^dag L, rho}/2,

with the jumps and rates (``rates``) of environment A (cavity loss at a decaying rate, the paper's "telegraph noise"),
B (thermal cavity with a modulated photon number, plus collective dephasing) or "general" (a qbjax extension with
both).  The battery is the Dicke space, H_B = w_b (J_z + N/2), started fully charged.  Each method documents its
equation (the ergotropy conventions and the Table-I erratum: ``reduced_ergotropy``; the BLP measure: ``blp``; Eq. (7):
``optimal_detuning``).  ``evolve`` integrates in operator form (``_dicke_cavity``) a whole grid, or ``jax.vmap`` over
models (``_tavis_cummings_batching``), as ONE diffrax solve.
"""

from __future__ import annotations

import math
import warnings

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from typing import ClassVar

from .._validate import as_float, as_int, check_times, checks, finite, finite_rules, nonnegative
from ._dicke_cavity import (TRUNCATION_MODES, cavity_message, check_start, from_sector, operator_rhs,
                            published_blp, published_ergotropy, sector_rhs, sector_state)
from ._protocol import AbstractBattery, align
from ._tavis_cummings_batching import member_batched
from .._ergotropy import energy as _energy
from .._ergotropy import ergotropy as _ergotropy
from .._ergotropy import passive_energy as _passive_energy
from .._evolve import evolve as _evolve_dense
from .._evolve import evolve_ode as _evolve_ode
from .._states import destroy, dicke_operators
from .._states import partial_trace as _partial_trace
from .._superop import liouvillian as _liouvillian

ENVIRONMENTS = ("A", "B", "general")
CONVENTIONS = ("physical", "published")
_FLOAT_FIELDS = ("detuning", "gamma0", "g", "omega_b", "lam", "n0", "Omega", "gamma_phi")


def _field(name):
    return lambda x: as_float(x, name)


class TavisCummingsBattery(AbstractBattery):
    """N-qubit Dicke battery + lossy, detuned cavity (paper 003); see the module docstring for equations.

    Fields: ``n_qubits`` (static int N >= 1), ``detuning`` Delta = w_c - w_b, ``gamma0`` (cavity rate scale), ``g``
    (coupling), ``omega_b``, ``n_cavity`` (static Fock cutoff >= N + 1), ``environment`` ("A" | "B" | "general",
    static), ``conventions`` ("physical" | "published", static), the environment parameters ``lam`` (A), ``n0``,
    ``Omega``, ``gamma_phi`` (B), all broadcasting to ``batch_shape``, and ``on_truncation`` ("raise" | "warn" |
    "ignore", static).  Units of w_b.  X = (J_z + N/2) + a^dag a is conserved, so ``n_cavity`` < N + 1 raises
    ``ValueError`` naming n_cavity (a ``rho0``: ``_dicke_cavity.check_start``); "warn"/"ignore" accept it.
    """

    n_qubits: int = eqx.field(static=True)
    detuning: jax.Array = eqx.field(default=0.0, converter=_field("detuning"))
    gamma0: jax.Array = eqx.field(default=0.05, converter=_field("gamma0"))
    g: jax.Array = eqx.field(default=0.1, converter=_field("g"))
    omega_b: jax.Array = eqx.field(default=1.0, converter=_field("omega_b"))
    n_cavity: int = eqx.field(default=6, static=True)
    environment: str = eqx.field(default="A", static=True)
    conventions: str = eqx.field(default="physical", static=True)
    lam: jax.Array = eqx.field(default=0.05, converter=_field("lam"))
    n0: jax.Array = eqx.field(default=0.1, converter=_field("n0"))
    Omega: jax.Array = eqx.field(default=math.pi / 5, converter=_field("Omega"))
    gamma_phi: jax.Array = eqx.field(default=0.02, converter=_field("gamma_phi"))
    on_truncation: str = eqx.field(default="raise", static=True)

    constraints: ClassVar = tuple(nonnegative(f, "a rate or a photon number") for f in ("gamma0", "lam", "n0", "gamma_phi")) \
        + tuple(finite(f) for f in _FLOAT_FIELDS)

    def __check_init__(self):
        if isinstance(self.n_qubits, bool) or not isinstance(self.n_qubits, (int, np.integer)) or self.n_qubits < 1:
            raise ValueError(f"n_qubits must be an integer >= 1; got {self.n_qubits!r}")
        if isinstance(self.n_cavity, bool) or not isinstance(self.n_cavity, (int, np.integer)) or self.n_cavity < 2:
            raise ValueError(f"n_cavity must be an integer >= 2 (Fock states 0..n_cavity-1); got {self.n_cavity!r}")
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"environment must be one of {ENVIRONMENTS}; got {self.environment!r}")
        if self.conventions not in CONVENTIONS:
            raise ValueError(f"conventions must be one of {CONVENTIONS}; got {self.conventions!r}")
        if self.on_truncation not in TRUNCATION_MODES:
            raise ValueError(f"on_truncation must be one of {TRUNCATION_MODES}; got {self.on_truncation!r}")
        if self.n_cavity < self.n_qubits + 1 and self.on_truncation != "ignore":
            if self.on_truncation == "raise":
                raise ValueError(cavity_message(self.n_qubits, self.n_cavity))
            warnings.warn(cavity_message(self.n_qubits, self.n_cavity), UserWarning, stacklevel=3)
        self.batch_shape  # noqa: B018  (raises if the array fields do not broadcast together)

    @property
    def dims(self) -> tuple[int, int]:
        """(N + 1, n_cavity): the subsystem dimensions of Dicke space (x) cavity (kron order), a tuple of
        two ints."""
        return (self.n_qubits + 1, self.n_cavity)  # Dicke space (x) cavity

    @property
    def dim(self) -> int:
        """d = (N + 1) n_cavity (an int): the dimension of Dicke space (x) cavity; a system state is
        (d, d)."""
        return (self.n_qubits + 1) * self.n_cavity

    def _p(self, name, extra: int = 0):
        """Field ``name`` broadcast to ``batch_shape`` plus ``extra`` singleton axes (of a checked model)."""
        x = jnp.broadcast_to(getattr(self, name), self.batch_shape)
        return x.reshape(x.shape + (1,) * extra)

    def operators(self):
        """Dense (J_z, J_+, J_-, a) on Dicke (x) cavity (``qbjax.dicke_operators``, ``qbjax.destroy``): four
        complex (d, d) arrays."""
        jz, jp, jm = dicke_operators(self.n_qubits)
        a = destroy(self.n_cavity)
        ic, iq = jnp.eye(self.n_cavity, dtype=a.dtype), jnp.eye(self.n_qubits + 1, dtype=a.dtype)
        return jnp.kron(jz, ic), jnp.kron(jp, ic), jnp.kron(jm, ic), jnp.kron(iq, a)

    def battery_hamiltonian(self):
        """H_B = w_b (J_z + N/2) on the Dicke space, levels 0, w_b, ..., N w_b (index i: w_b (N - i)): a real
        (*batch, N+1, N+1) array, units of w_b."""
        jz, _, _ = dicke_operators(self.n_qubits)
        wb = self.checked()._p("omega_b", 2)
        return wb * (jz + self.n_qubits / 2 * jnp.eye(self.n_qubits + 1))

    def hamiltonian(self):
        """H = w_b (J_z + N/2) + (w_b + Delta) a^dag a + g (J_+ a + J_- a^dag) on Dicke (x) cavity: a complex
        (*batch, d, d) array, units of w_b."""
        Jz, Jp, Jm, a = self.operators()
        m = self.checked()
        wb, dl, g = m._p("omega_b", 2), m._p("detuning", 2), m._p("g", 2)
        eye = jnp.eye(self.dim)
        ad = jnp.conj(a.T)
        return wb * (Jz + self.n_qubits / 2 * eye) + (wb + dl) * (ad @ a) + g * (Jp @ a + Jm @ ad)

    def rates(self, t):
        """Rates r_k(t) at time ``t``, each ``batch_shape``, units of w_b.

        Environment A: {"a": gamma0 exp(-lam t)}; B: {"a": gamma0 (1 + n_th(t)), "a_dag": gamma0 n_th(t),
        "Jz": gamma_phi}, n_th(t) = n0 (1 + sin^2(Omega t)); "general": {"a": gamma0 (exp(-lam t) + n_th(t)), "a_dag"
        and "Jz" as in B}.  Erratum: the appendix code as printed seems to take the root of gamma0 alone (rate
        gamma0 exp(-2 lam t)); then no entry of Table I comes out, with these every one does.

        Args:
            t: time (scalar), units 1/w_b.
        """
        return self.checked()._rate_fn()(t)

    def _rate_fn(self):
        """t -> rates(t), with the parameters read once, outside the ODE loop (of a checked model)."""
        g0, lam, n0, om, gphi = (self._p(f) for f in ("gamma0", "lam", "n0", "Omega", "gamma_phi"))
        env = self.environment

        def rates(t):
            if env == "A":
                return {"a": g0 * jnp.exp(-lam * t)}
            nth = n0 * (1.0 + jnp.sin(om * t) ** 2)
            loss = 1.0 if env == "B" else jnp.exp(-lam * t)
            return {"a": g0 * (loss + nth), "a_dag": g0 * nth, "Jz": gphi}

        return rates

    def jump_terms(self, t=0.0):
        """(L_k (K, d, d), rates r_k(t) (*batch, K), units of w_b): a (and a^dag, J_z for B, general), K = 1 or 3.

        Args:
            t: time (scalar), units 1/w_b.
        """
        Jz, _, _, a = self.operators()
        ops = {"a": a, "a_dag": jnp.conj(a.T), "Jz": Jz}
        r = self.rates(t)
        return jnp.stack([ops[k] for k in r]), jnp.stack([jnp.broadcast_to(r[k], self.batch_shape) for k in r], -1)

    def jump_ops(self, t=0.0):
        """Jump operators sqrt(r_k(t)) L_k at time ``t``, (*batch, K, d, d) (K = 1 for A, 3 for B and general).

        Args:
            t: time (scalar), units 1/w_b.
        """
        ops, rates = self.jump_terms(t)
        return jnp.sqrt(rates)[..., None, None] * ops

    def liouvillian(self, t=0.0):
        """Dense Lindblad generator L(t) = -i[H, .] + sum_k r_k(t) D[L_k], (*batch, d^2, d^2), row-major vec
        (``qbjax.liouvillian`` with ``rates``: linear in the rates, exact gradients where a rate is 0), units of w_b.

        Args:
            t: time (scalar), units 1/w_b.
        """
        ops, rates = self.jump_terms(jnp.asarray(t, dtype=float))
        return _liouvillian(self.hamiltonian(), ops, rates=rates, validate=False)  # the model's own operators

    def lindblad_rhs(self, t, rho):
        """d rho/dt = L(t) rho of :meth:`liouvillian` by operator-form stencils (O(d^2) a call), unvalidated.

        Args:
            t: time (scalar), units 1/w_b.
            rho: density matrices (*batch, d, d); the result has its shape.
        """
        s = rho.shape[:-2] + self.dims * 2
        y = jnp.stack([jnp.real(rho).reshape(s), jnp.imag(rho).reshape(s)], -5)
        dy = operator_rhs(self)(jnp.asarray(t, dtype=float), y)
        return (dy[..., 0, :, :, :, :] + 1j * dy[..., 1, :, :, :, :]).reshape(rho.shape)

    def as_general(self):
        """The same dynamics as environment "general" (A: n0 = gamma_phi = 0; B: lam = 0): a
        ``TavisCummingsBattery`` with environment "general" (self if it already is)."""
        if self.environment == "general":
            return self
        kw = {f: getattr(self, f) for f in _FLOAT_FIELDS}
        if self.environment == "A":
            kw["n0"], kw["gamma_phi"] = jnp.zeros_like(self.n0), jnp.zeros_like(self.gamma_phi)
        else:
            kw["lam"] = jnp.zeros_like(self.lam)
        return TavisCummingsBattery(self.n_qubits, n_cavity=self.n_cavity, environment="general",
                                    conventions=self.conventions, on_truncation=self.on_truncation, **kw)

    def optimal_detuning(self):
        """The paper's Eq. (7): Delta* = g sqrt(N / (2 gamma0)), the detuning that protects the ergotropy, a real
        array of shape ``batch_shape`` in units of w_b (inf where gamma0 = 0)."""
        m = self.checked()
        return m._p("g") * jnp.sqrt(self.n_qubits / (2.0 * m._p("gamma0")))

    def initial_state(self, which: str = "charged"):
        """|J, J> (x) |0> ("charged", default) or |J, -J> (x) |0> ("empty"), a (d, d) complex density matrix.

        Args:
            which: "charged" or "empty" (``ValueError`` otherwise).
        """
        if which not in ("charged", "empty"):
            raise ValueError(f"which must be 'charged' or 'empty'; got {which!r}")
        k = 0 if which == "charged" else self.n_qubits * self.n_cavity
        return jnp.zeros((self.dim, self.dim), dtype=complex).at[k, k].set(1.0)

    def battery_state(self, rho):
        """Reduced battery (Dicke-space) state rho_B = Tr_cav rho, (..., N+1, N+1).

        Args:
            rho: system density matrices (..., d, d) (``ValueError`` naming ``rho`` when not one).
        """
        return _partial_trace(rho, self.dims, 0)

    def reduced_ergotropy(self, rho_b, conventions: str | None = None):
        """Residual ergotropy of reduced battery states, units of w_b (E_p = sum_k r_k^desc e_k^asc).

        physical: E = Tr(rho_B H_B) - E_p (0 <= E <= N w_b); published: E = max(0, n_cavity Tr(rho_B H_B) - E_p),
        the functional of the paper's code, which reproduces every entry of Table I (ERRATA: the partial trace of the
        operator H_B (x) 1 multiplies the energy by n_cavity; :func:`published_ergotropy`).

        Args:
            rho_b: density matrices (*batch, ..., N+1, N+1) (``ValueError`` naming ``rho`` when not ones).
            conventions: "physical" or "published"; default the model's.
        """
        hb = align(self.battery_hamiltonian(), rho_b)
        if (conventions or self.conventions) == "physical":
            return _ergotropy(rho_b, hb)
        return published_ergotropy(_energy(rho_b, hb), _passive_energy(rho_b, hb), self.n_cavity)

    def population_ergotropy(self, p, conventions: str | None = None):
        """:meth:`reduced_ergotropy` of diagonal states diag(p) (no eigensolver: sorting only), units of w_b.

        Args:
            p: Dicke-level populations (*batch, ..., N+1), index i: energy w_b (N - i); result (*batch, ...).
            conventions: "physical" or "published"; default the model's.
        """
        m = self.checked()
        e = m._p("omega_b", 1) * (self.n_qubits - jnp.arange(self.n_qubits + 1))
        e = e.reshape(e.shape[:-1] + (1,) * (jnp.ndim(p) - e.ndim) + e.shape[-1:])
        energy = jnp.sum(p * e, axis=-1)
        passive = jnp.sum(jnp.sort(p, axis=-1)[..., ::-1] * jnp.sort(e, axis=-1), axis=-1)
        if (conventions or self.conventions) == "physical":
            return energy - passive
        return published_ergotropy(energy, passive, self.n_cavity)

    def ergotropy(self, rho):
        """:meth:`reduced_ergotropy` of ``battery_state(rho)`` under the model's ``conventions``, units of w_b.

        Args:
            rho: system density matrices (*batch, ..., d, d) (``ValueError`` naming ``rho`` when not ones).
        """
        return self.reduced_ergotropy(self.battery_state(rho))

    def evolve(self, ts, rho0=None, *, t0=0.0, method: str = "auto", rtol: float = 1e-8,
               atol: float = 1e-10, max_steps: int = 100_000, solver=None, adjoint=None):
        """Density matrices rho(t) at the times ``ts``: (*batch, len(ts), d, d) complex.

        Args:
            ts: increasing save times (>= t0), units 1/w_b.
            rho0: initial state (d, d) or (*batch, d, d); default |J, J> (x) |0>.
            t0: initial time of the evolution (default 0; the rates depend on absolute time).
            method: "auto" ("sector" for the default start, "operator" for a given rho0), "sector" (the excitation
                sectors, ``_dicke_cavity.sector_rhs``; exact for starts block-diagonal in X, drops any other
                coherence), "operator" (full d x d operator form), both ONE diffrax solve of the whole batch, or
                "dense" (``qbjax.evolve`` with the (d^2, d^2) Liouvillian, per member; a reference path).
            rtol, atol: PID tolerances on the max over the grid of each member's RMS error (QuTiP: 1e-6, 1e-8).
            max_steps, solver, adjoint: ``diffrax.diffeqsolve``'s (Tsit5; gradients by ``RecursiveCheckpointAdjoint``).

        Raises ``ValueError`` naming ``ts`` (not 1-D, empty, finite, strictly increasing, or before t0) or ``rho0`` (not
        a (d, d) density matrix, or more excitations than n_cavity holds); ``eqx.error_if`` when traced.
        """
        ts = check_times(ts, "ts", start=t0, start_name="t0")
        rho0 = None if rho0 is None else check_start(self, rho0)
        return self._batched(lambda m, r0, ts_, t0_: m._evolve(ts_, r0, t0_, method, rtol, atol, max_steps, solver,
                                                                adjoint), ts, t0, rho0, adjoint)

    def _batched(self, fn, ts, t0, rho0, adjoint):
        """``fn(model, rho0, ts, t0)``: ONE batched solve, under ``jax.vmap`` too (``member_batched``)."""
        dyn, static = eqx.partition(self, eqx.is_array)
        return member_batched(lambda m, sh: fn(eqx.combine(m[0], static), m[1], *sh), (dyn, rho0), (ts, t0), (0, 2),
                              reverse_mode=not isinstance(adjoint, diffrax.ForwardMode))

    @eqx.filter_jit
    def _evolve(self, ts, rho0, t0, method, rtol, atol, max_steps, solver, adjoint):
        self = self.checked()  # one run-time check of the traced parameters for the whole solve
        rho0_is_default = rho0 is None
        rho0 = (self.initial_state() if rho0 is None else rho0).astype(complex)
        bs = self.batch_shape
        d = self.dim
        if method == "dense":
            flat = self.members()
            r0 = jnp.broadcast_to(rho0, bs + (d, d)).reshape((-1, d, d))

            def one(mdl, r):
                return _evolve_dense(mdl.liouvillian, r, ts, t0=t0, rtol=rtol, atol=atol, max_steps=max_steps,
                                     solver=solver, adjoint=adjoint, validate=False)  # checked by evolve

            out = jax.vmap(one)(flat, r0)
            return out.reshape(bs + out.shape[1:])
        if method == "auto":
            method = "sector" if rho0_is_default else "operator"
        if method == "sector":
            y0 = sector_state(self, jnp.broadcast_to(rho0, bs + (d, d)))
            ys = _evolve_ode(sector_rhs(self), y0, ts, batch_ndim=1, batch_last=True, t0=t0, validate=False,
                             rtol=rtol, atol=atol, max_steps=max_steps, solver=solver, adjoint=adjoint)
            x = (ys[:, 0] + 1j * ys[:, 1]).reshape((ts.shape[0], self.n_qubits + 1, self.n_cavity,
                                                     self.n_qubits + 1) + bs)  # (n_t, i, n, j, *batch)
            x = jnp.moveaxis(x, tuple(range(4, 4 + len(bs))) + (0,), tuple(range(len(bs) + 1)))
            return from_sector(self, x)
        if method != "operator":
            raise ValueError(f"method must be 'auto', 'sector', 'operator' or 'dense'; got {method!r}")
        nq, nc = self.dims
        r0 = jnp.broadcast_to(rho0, bs + (d, d)).reshape(bs + (nq, nc, nq, nc))
        y0 = jnp.stack([jnp.real(r0), jnp.imag(r0)], axis=-5)
        ys = _evolve_ode(operator_rhs(self), y0, ts, batch_ndim=len(bs), t0=t0, validate=False,
                         rtol=rtol, atol=atol,
                         max_steps=max_steps, solver=solver, adjoint=adjoint)
        rho = ys[..., 0, :, :, :, :] + 1j * ys[..., 1, :, :, :, :]
        return rho.reshape(rho.shape[:-4] + (d, d))

    def battery_populations(self, ts, *, pair: bool = False, t0=0.0, rtol: float = 1e-8, atol: float = 1e-10,
                            max_steps: int = 100_000, solver=None, adjoint=None):
        """Populations p(t) of rho_B(t) = diag(p(t)) from the default start(s), (*batch, n_t, N+1).

        X conservation keeps rho_B of these starts diagonal, so only p is saved; index i: M = J - i, energy w_b (N - i).

        Args:
            ts: save times (n_t,) >= t0, units 1/w_b, strictly increasing (``ValueError`` naming ``ts``).
            pair: both starts in one solve: (2, *batch, n_t, N+1) (charged, empty).
            t0, rtol, atol, max_steps, solver, adjoint: as :meth:`evolve`.
        """
        ts = check_times(ts, "ts", start=t0, start_name="t0")
        p = self._batched(lambda m, _, ts_, t0_: m._populations(ts_, pair, t0_, rtol, atol, max_steps, solver, adjoint),
                          ts, t0, None, adjoint)
        return jnp.moveaxis(p, -3, 0) if pair else p

    @eqx.filter_jit
    def _populations(self, ts, pair, t0, rtol, atol, max_steps, solver, adjoint):
        self = self.checked()  # one run-time check of the traced parameters for the whole solve
        mdl = self
        if pair:
            bs0 = self.batch_shape
            mdl = eqx.tree_at(lambda m_: [getattr(m_, f) for f in _FLOAT_FIELDS], self,
                              [jnp.broadcast_to(getattr(self, f), (2,) + bs0) for f in _FLOAT_FIELDS])
            rho0 = jnp.stack([self.initial_state("charged"), self.initial_state("empty")])
            rho0 = rho0.reshape((2,) + (1,) * len(bs0) + rho0.shape[-2:])
        else:
            rho0 = self.initial_state()
        bs = mdl.batch_shape
        nq, nc = self.dims
        y0 = sector_state(mdl, jnp.broadcast_to(rho0, bs + (self.dim, self.dim)))
        diag = (np.arange(nq)[:, None] * nc + np.arange(nc)[None, :]) * nq + np.arange(nq)[:, None]  # k(i, n, i)

        def save(t, y):  # p_i = sum_n Re rho[i, n; i, n] (m = n on the diagonal i = j)
            return jnp.sum(y[0][diag], axis=1)  # (N+1, B)

        ps = _evolve_ode(sector_rhs(mdl), y0, ts, batch_ndim=1, batch_last=True, save_fn=save, t0=t0, validate=False,
                         rtol=rtol, atol=atol, max_steps=max_steps, solver=solver, adjoint=adjoint)
        ps = jnp.moveaxis(ps.reshape(ps.shape[:2] + bs), (0, 1), (len(bs), len(bs) + 1))  # (*batch, n_t, N+1)
        return jnp.moveaxis(ps, 0, -3) if pair else ps  # the batch in front: (*batch, 2, n_t, N+1) with the pair

    def ergotropy_curve(self, ts, rho0=None, **kwargs):
        """Residual ergotropy of rho_B(t) at ``ts``, (*batch, len(ts)), units of w_b (see conventions).

        Args:
            ts, rho0, **kwargs: as :meth:`evolve` (which raises ``ValueError`` naming ``ts`` or ``rho0``); from the
                default start (method "auto"/"sector") only the diagonal rho_B is computed (``battery_populations``).
        """
        if rho0 is None and kwargs.get("method", "auto") in ("auto", "sector"):
            kwargs.pop("method", None)
            p = self.battery_populations(ts, **kwargs)
            return self.population_ergotropy(p)
        return self.ergotropy(self.evolve(ts, rho0, **kwargs))

    def final_ergotropy(self, t1=20.0, **kwargs):
        """Ergotropy of rho_B(t1) from the default start (the survival-map quantity), ``batch_shape``, units of w_b.

        Args:
            t1: final time, units 1/w_b, finite and >= t0 (``ValueError`` naming it; ``eqx.error_if`` traced).
            **kwargs: as :meth:`battery_populations`.
        """
        t0 = kwargs.get("t0", 0.0)
        t1 = jnp.asarray(t1, dtype=float)
        t1 = checks(t1, finite_rules(t1, "t1") + [(lambda: t1 >= t0, "t1 must be >= t0 (the start, default 0)")])
        p = self.battery_populations(t1[None], **kwargs)[..., 0, :]
        return self.population_ergotropy(p)

    def trace_distance_curve(self, ts, **kwargs):
        """Trace distance D(t) = (1/2)||rho_B1(t) - rho_B2(t)||_1 of the pair |J,J>|0>, |J,-J>|0>, (*batch, n_t).

        Args:
            ts, **kwargs: as :meth:`battery_populations` (``ValueError`` naming ``ts``).
        """
        p = self.battery_populations(ts, pair=True, **kwargs)
        return 0.5 * jnp.sum(jnp.abs(p[0] - p[1]), axis=-1)  # trace distance of diagonal states

    def dynamics(self, ts, **kwargs):
        """Everything of Table I / Fig. 1 from ONE solve of the pair (|J,J>|0>, |J,-J>|0>).

        Returns a dict: ``ergotropy``, ``ergotropy_published`` (both functionals of the charged run, whatever
        ``conventions`` is) and ``trace_distance`` (*batch, n_t); ``blp_published`` (the paper's estimator on
        ``ts``) and ``blp_variation`` (total positive variation of D on ``ts``), both ``batch_shape``.

        Args:
            ts: as :meth:`evolve`, uniformly spaced, at least 3 (``ValueError`` otherwise).
            **kwargs: as :meth:`battery_populations`.
        """
        ts = check_times(ts, "ts", start=kwargs.get("t0", 0.0), start_name="t0")
        p = self.battery_populations(ts, pair=True, **kwargs)
        e_phys = self.population_ergotropy(p[0], "physical")
        e_pub = self.population_ergotropy(p[0], "published")
        D = 0.5 * jnp.sum(jnp.abs(p[0] - p[1]), axis=-1)  # trace distance of diagonal states
        return {
            "ergotropy": e_phys,
            "ergotropy_published": e_pub,
            "trace_distance": D,
            "blp_published": published_blp(D, ts),
            "blp_variation": jnp.sum(jnp.maximum(jnp.diff(D, axis=-1), 0.0), axis=-1),
        }

    def blp(self, ts, *, refine: int = 8, **kwargs):
        """BLP measure N = int max(0, dD/dt) dt of the pair (|J,J>|0>, |J,-J>|0>) (no maximisation), ``batch_shape``.

        published: Simpson's rule over the uniform ``ts`` of max(0, numpy.gradient(D, dt)) (the paper's estimator);
        physical: the total positive variation of D on ``ts`` refined ``refine`` times (converges to the integral).

        Args:
            ts: as :meth:`evolve`; published: >= 3 uniformly spaced times (``ValueError`` otherwise).
            refine: subdivisions per interval (physical), an integer >= 1 (``ValueError`` naming it).
            **kwargs: as :meth:`battery_populations`.
        """
        ts = check_times(ts, "ts", start=kwargs.get("t0", 0.0), start_name="t0")
        if self.conventions == "published":
            D = self.trace_distance_curve(ts, **kwargs)
            return published_blp(D, ts)
        refine = as_int(refine, "refine", minimum=1)
        frac = jnp.arange(refine) / refine
        fine = (ts[:-1, None] + frac[None, :] * jnp.diff(ts)[:, None]).reshape(-1)
        fine = jnp.concatenate([fine, ts[-1:]])
        D = self.trace_distance_curve(fine, **kwargs)
        return jnp.sum(jnp.maximum(jnp.diff(D, axis=-1), 0.0), axis=-1)

    def features(self, t1=20.0, n_times: int = 150, curve: bool = False) -> dict:
        """Table-I quantities at t1 of one solve of the BLP pair on ``linspace(0, t1, n_times)``, each ``batch_shape``.

        ``ergotropy``, ``ergotropy_published``, ``trace_distance``, ``blp_published``, ``blp_variation`` (as dynamics);
        with ``curve=True`` also ``ergotropy_curve`` (*batch, n_times).

        Args:
            t1: final time, units 1/w_b, finite and > 0 (``ValueError``; ``eqx.error_if`` when traced).
            n_times: grid size, an integer >= 3 (``ValueError`` naming it).
            curve: also return the physical ergotropy curve.
        """
        n_times = as_int(n_times, "n_times", minimum=3)
        t1 = jnp.asarray(t1, dtype=float)
        t1 = checks(t1, finite_rules(t1, "t1") + [(lambda: t1 > 0, "t1 must be > 0 (the grid is linspace(0, t1))")])
        out = self.dynamics(jnp.linspace(0.0, t1, n_times))
        feats = {
            "ergotropy": out["ergotropy"][..., -1],
            "ergotropy_published": out["ergotropy_published"][..., -1],
            "trace_distance": out["trace_distance"][..., -1],
            "blp_published": out["blp_published"],
            "blp_variation": out["blp_variation"],
        }
        if curve:
            feats["ergotropy_curve"] = out["ergotropy"]
        return feats
