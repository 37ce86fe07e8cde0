"""Tavis-Cummings collective battery protected by cavity detuning (paper 003: T. Z. Jawad, "Ergotropy
Protection via Cavity Detuning in Collective Open Quantum Batteries").
N qubits in the symmetric Dicke space (J = N/2, basis |J, M>, index i = 0..N holds M = J - i as
``qutip.jmat``) coupled to one cavity mode truncated to ``n_cavity`` Fock states; Hilbert space
Dicke (x) cavity, dimension d = (N + 1) n_cavity.  Units: hbar = 1, every frequency and rate in units of
w_b (the paper: w_b = 1), times in 1/w_b.

    H = w_b (J_z + N/2) + (w_b + Delta) a^dag a + g (J_+ a + J_- a^dag),

    d rho/dt = -i [H, rho] + sum_k r_k(t) D[L_k] rho,   D[L] rho = L rho L^dag - {L^dag L, rho}/2,

environment A (cavity loss with a decaying rate; the paper's "telegraph noise" environment):
    L = a,      r(t) = gamma0 exp(-lam t),                                lam = 0.05;
environment B (thermal cavity with a modulated photon number, plus collective dephasing):
    L = a,      r(t) = gamma0 (1 + n_th(t)),    n_th(t) = n0 (1 + sin^2(Omega t)),  n0 = 0.1, Omega = pi/5,
    L = a^dag,  r(t) = gamma0 n_th(t),
    L = J_z,    r = gamma_phi,                                              gamma_phi = 0.02.
environment "general" (a qbjax extension containing both: ONE compiled solve covers A and B points):
    L = a, r(t) = gamma0 (exp(-lam t) + n_th(t));  L = a^dag, r = gamma0 n_th(t);  L = J_z, r = gamma_phi;
it equals A for n0 = gamma_phi = 0 and B for lam = 0 (``as_general``).
Defaults g = 0.1, gamma0 = 0.05, n_cavity = 6.  The battery is the Dicke space with H_B = w_b (J_z + N/2) (levels
0, w_b, ..., N w_b); start |J, J> (x) |0> (fully charged).

Erratum on the rates: the appendix code as printed seems to put the square root around gamma0 alone (coefficient
sqrt(gamma0) exp(-lam t), i.e. rate gamma0 exp(-2 lam t)); with that reading no entry of Table I comes out, with
the rates above every one does.

Outputs.  ``ergotropy_curve``: residual ergotropy of the reduced battery state rho_B = Tr_cav rho,
    physical:   E = Tr(rho_B H_B) - sum_k r_k^desc e_k^asc                 (0 <= E <= N w_b);
    published:  E = max(0, n_cavity Tr(rho_B H_B) - sum_k r_k^desc e_k^asc).
ERRATA, Table I: the paper's code evaluates the battery energy as
``expect(H_B_total.ptrace(0), rho_B)``; the partial trace of the OPERATOR H_B (x) 1 over the cavity is
n_cavity H_B, so its energy is multiplied by n_cavity (6) while its passive energy is not, and the result
is clipped at 0.  ``conventions="published"`` reproduces exactly that functional (same dynamics) and with
it every printed entry of Table I; ``"physical"`` (default) is the correct ergotropy, several times
smaller (N = 1, env A, Delta*: 0.7243 against the printed 5.0349) and never above N w_b.

``blp``: D(t) = (1/2)||rho_B1(t) - rho_B2(t)||_1 for the pair started in |J, J>|0> and |J, -J>|0>, BLP measure
N = int max(0, dD/dt) dt (for this one pair; the paper does not maximise over pairs).
    published:  the paper's estimator, Simpson's rule (SciPy >= 1.11 rule with Cartwright's correction
                for an even number of points) over ``ts`` of max(0, numpy.gradient(D, dt));
    physical:   the total positive variation sum_k max(0, D(t_{k+1}) - D(t_k)) on ``ts`` refined
                ``refine`` times (default 8), which converges to the integral as the grid refines.

``optimal_detuning``: the paper's Eq. (7), Delta* = g sqrt(N / (2 gamma0)).

Numerics. ``evolve`` integrates the master equation in OPERATOR FORM: rho is kept as a real tensor (Re, Im) x (N+1,
n_cavity, N+1, n_cavity), and every operator of the model is a single band of one factor (J_+/-, a, a^dag shift one
index with sqrt weights; J_z, a^dag a are diagonal), so the right-hand side is a handful of shifted, weighted copies
of rho: O(d^2) work per evaluation instead of the O(d^4) of a dense Liouvillian matvec. A whole parameter grid (batch
dimensions of the array fields) is ONE diffrax solve (``qbjax.evolve.evolve_ode``, Tsit5, PID control on the max over
the grid of each member's RMS error). Excitation-number conservation (H, a, a^dag, J_z all change X = J_z + N/2 +
a^dag a by the same amount on both sides of rho) keeps a state that starts block-diagonal in X so; for such starts
(the default |J,J>|0>, the BLP pair) the default method "sector" stores only rho[i, n; j, m = n - i + j] ((N+1)^2
n_cavity numbers, 6x fewer for N = 4), with the batch axes last, and the reduced battery state is then diagonal in the
Dicke basis, so ``battery_populations`` saves only its N+1 populations at the save times (``ergotropy_curve``,
``final_ergotropy``, ``blp`` and ``dynamics`` use it). A general rho0 uses "operator" (the full tensor).
``method="dense"`` instead builds the (d^2, d^2) Liouvillian of ``qbjax.liouvillian`` and calls ``qbjax.evolve`` per
member (reference path, slower). Gradients flow through diffrax (``RecursiveCheckpointAdjoint``).

Batching.  ``detuning``, ``gamma0``, ``g``, ``omega_b``, ``lam``, ``n0``, ``Omega`` and ``gamma_phi`` are
JAX arrays of any broadcastable shapes; their broadcast shape is the model's ``batch_shape`` and every
output carries it in front.  ``jax.vmap`` over models (or over functions building them) is the same ONE
batched solve: a ``custom_vmap`` rule moves the mapped axis into the batch shape (``_tavis_cummings_batching``).
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

    Fields: ``n_qubits`` (static int N >= 1), ``detuning`` Delta = w_c - w_b, ``gamma0`` (cavity rate
    scale), ``g`` (coupling), ``omega_b``, ``n_cavity`` (static Fock cutoff >= N + 1), ``environment``
    ("A" | "B", static), ``conventions`` ("physical" | "published", static), the environment
    parameters ``lam`` (env A), ``n0``, ``Omega``, ``gamma_phi`` (env B), and ``on_truncation``
    (static, "raise" | "warn" | "ignore"; default "raise").  Units of w_b.

    Truncation rule: the charged start holds N excitations and the coupling conserves X = (J_z + N/2)
    + a^dag a, so the cavity must hold N photons: ``n_cavity`` < N + 1 raises ``ValueError`` naming
    n_cavity and the minimum (a start ``rho0`` is checked likewise, see ``_dicke_cavity.check_start``).
    Environments B and general also pump thermal photons (a^dag), which no finite cutoff holds: N + 1
    is the minimum there, and the thermal tail is the documented truncation error.  ``"warn"`` and
    ``"ignore"`` accept a smaller cutoff (a convergence study in n_cavity, say).
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

    # ------------------------------------------------------------------ structure
    @property
    def dims(self) -> tuple[int, int]:
        return (self.n_qubits + 1, self.n_cavity)  # Dicke space (x) cavity

    @property
    def dim(self) -> int:
        return (self.n_qubits + 1) * self.n_cavity

    def _p(self, name, extra: int = 0):
        """Field ``name`` broadcast to the batch shape, with ``extra`` trailing singleton axes (read from a
        model the public method has already passed through :meth:`checked`)."""
        x = jnp.broadcast_to(getattr(self, name), self.batch_shape)
        return x.reshape(x.shape + (1,) * extra)

    def operators(self):
        """Dense (Jz, J+, J-, a) on the full space, each (d, d) complex (Dicke (x) cavity)."""
        jz, jp, jm = dicke_operators(self.n_qubits)
        a = destroy(self.n_cavity)
        ic, iq = jnp.eye(self.n_cavity, dtype=a.dtype), jnp.eye(self.n_qubits + 1, dtype=a.dtype)
        return jnp.kron(jz, ic), jnp.kron(jp, ic), jnp.kron(jm, ic), jnp.kron(iq, a)

    def battery_hamiltonian(self):
        """H_B = w_b (J_z + N/2) on the Dicke space, (*batch, N+1, N+1); levels 0, w_b, ..., N w_b."""
        jz, _, _ = dicke_operators(self.n_qubits)
        wb = self.checked()._p("omega_b", 2)
        return wb * (jz + self.n_qubits / 2 * jnp.eye(self.n_qubits + 1))

    def hamiltonian(self):
        """H (*batch, d, d) = w_b (J_z + N/2) + (w_b + Delta) a^dag a + g (J_+ a + J_- a^dag)."""
        Jz, Jp, Jm, a = self.operators()
        m = self.checked()
        wb, dl, g = m._p("omega_b", 2), m._p("detuning", 2), m._p("g", 2)
        eye = jnp.eye(self.dim)
        ad = jnp.conj(a.T)
        return wb * (Jz + self.n_qubits / 2 * eye) + (wb + dl) * (ad @ a) + g * (Jp @ a + Jm @ ad)

    def rates(self, t):
        """Time-dependent rates at time ``t`` (scalar), each of shape ``batch_shape``.

        Environment A: {"a": gamma0 exp(-lam t)}; environment B: {"a": gamma0 (1 + n_th(t)),
        "a_dag": gamma0 n_th(t), "Jz": gamma_phi} with n_th(t) = n0 (1 + sin^2(Omega t));
        "general": {"a": gamma0 (exp(-lam t) + n_th(t)), "a_dag": gamma0 n_th(t), "Jz": gamma_phi}.
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
        """(L_k (K, d, d), rates r_k(t) (*batch, K)) at time ``t``: a (and a^dag, J_z for B), K = 1 or 3."""
        Jz, _, _, a = self.operators()
        ops = {"a": a, "a_dag": jnp.conj(a.T), "Jz": Jz}
        r = self.rates(t)
        return jnp.stack([ops[k] for k in r]), jnp.stack([jnp.broadcast_to(r[k], self.batch_shape) for k in r], -1)

    def jump_ops(self, t=0.0):
        """Jump operators at time ``t`` with sqrt(rate) folded in, (*batch, K, d, d) (K = 1 for A, 3 for B)."""
        ops, rates = self.jump_terms(t)
        return jnp.sqrt(rates)[..., None, None] * ops

    def liouvillian(self, t=0.0):
        """Dense Lindblad generator L(t) = -i[H, .] + sum_k r_k(t) D[L_k], (*batch, d^2, d^2), row-major vec
        (``qbjax.liouvillian`` with ``rates``: linear in the rates, exact gradients where a rate is 0)."""
        ops, rates = self.jump_terms(jnp.asarray(t, dtype=float))
        return _liouvillian(self.hamiltonian(), ops, rates=rates, validate=False)  # the model's own operators

    def lindblad_rhs(self, t, rho):
        """d rho/dt = L(t) rho for rho (*batch, d, d): the master equation of :meth:`liouvillian` by the
        model's operator-form stencils (O(d^2) a call; used by time-dependent controls)."""
        s = rho.shape[:-2] + self.dims * 2
        y = jnp.stack([jnp.real(rho).reshape(s), jnp.imag(rho).reshape(s)], -5)
        dy = operator_rhs(self)(jnp.asarray(t, dtype=float), y)
        return (dy[..., 0, :, :, :, :] + 1j * dy[..., 1, :, :, :, :]).reshape(rho.shape)

    def as_general(self):
        """The same dynamics as environment "general" (A: n0 = gamma_phi = 0; B: lam = 0)."""
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
        """The paper's Eq. (7): Delta* = g sqrt(N / (2 gamma0)) (shape ``batch_shape``)."""
        m = self.checked()
        return m._p("g") * jnp.sqrt(self.n_qubits / (2.0 * m._p("gamma0")))

    def initial_state(self, which: str = "charged"):
        """|J, J> (x) |0> ("charged", default) or |J, -J> (x) |0> ("empty"), (d, d) complex."""
        if which not in ("charged", "empty"):
            raise ValueError(f"which must be 'charged' or 'empty'; got {which!r}")
        k = 0 if which == "charged" else self.n_qubits * self.n_cavity
        return jnp.zeros((self.dim, self.dim), dtype=complex).at[k, k].set(1.0)

    def battery_state(self, rho):
        """Reduced battery (Dicke-space) state Tr_cav rho, (..., N+1, N+1)."""
        return _partial_trace(rho, self.dims, 0)

    def reduced_ergotropy(self, rho_b, conventions: str | None = None):
        """Ergotropy of reduced battery states rho_B (*batch, ..., N+1, N+1) under ``conventions``
        (default the model's): physical Tr(rho_B H_B) - E_passive, or the paper's functional
        (:func:`published_ergotropy`)."""
        hb = align(self.battery_hamiltonian(), rho_b)
        if (conventions or self.conventions) == "physical":
            return _ergotropy(rho_b, hb)
        return published_ergotropy(_energy(rho_b, hb), _passive_energy(rho_b, hb), self.n_cavity)

    def population_ergotropy(self, p, conventions: str | None = None):
        """:meth:`reduced_ergotropy` of diagonal reduced states diag(p), ``p`` (*batch, ..., N+1) the
        Dicke-level populations (index i: energy w_b (N - i)).  Their spectrum is p itself and H_B's
        levels are known, so only sorting is needed (no eigensolver; the default start keeps rho_B
        diagonal, see :meth:`battery_populations`)."""
        m = self.checked()
        e = m._p("omega_b", 1) * (self.n_qubits - jnp.arange(self.n_qubits + 1))
        e = e.reshape(e.shape[:-1] + (1,) * (jnp.ndim(p) - e.ndim) + e.shape[-1:])
        energy = jnp.sum(p * e, axis=-1)
        passive = jnp.sum(jnp.sort(p, axis=-1)[..., ::-1] * jnp.sort(e, axis=-1), axis=-1)
        if (conventions or self.conventions) == "physical":
            return energy - passive
        return published_ergotropy(energy, passive, self.n_cavity)

    def ergotropy(self, rho):
        """Residual ergotropy of the battery in the system state(s) ``rho`` (*batch, ..., d, d), units of
        w_b, under this model's ``conventions`` (physical: Tr(rho_B H_B) - E_passive; published: the
        paper's Table-I functional, see :func:`published_ergotropy`)."""
        return self.reduced_ergotropy(self.battery_state(rho))

    # ------------------------------------------------------------------ evolution and outputs
    def evolve(self, ts, rho0=None, *, t0=0.0, method: str = "auto", rtol: float = 1e-8,
               atol: float = 1e-10, max_steps: int = 100_000, solver=None, adjoint=None):
        """Density matrices rho(t) at the times ``ts``: (*batch, len(ts), d, d) complex.

        Args:
            ts: increasing save times (>= t0), units 1/w_b.
            rho0: initial state (d, d) or (*batch, d, d); default |J, J> (x) |0>.
            t0: initial time of the evolution (default 0; the rates depend on absolute time).
            method: "auto" (default: "sector" for the default start, "operator" for a given rho0),
                "sector" (excitation-sector representation, see ``_dicke_cavity.sector_rhs``; exact for states
                block-diagonal in the excitation number, e.g. Dicke-Fock diagonal states, and silently
                drops any other coherence), "operator" (full d x d operator form) or "dense"
                (``qbjax.evolve`` with the (d^2, d^2) Liouvillian, per member; a reference path).
                The first three integrate the whole batch as one diffrax solve.
            rtol, atol: diffrax PID tolerances (per member; QuTiP's mesolve defaults are 1e-6, 1e-8).

        Raises ``ValueError`` naming ``ts`` (not 1-D, empty, finite, strictly increasing, or before t0)
        or ``rho0`` (not a (d, d) density matrix, or populating more excitations than n_cavity holds;
        see the class docstring); ``eqx.error_if`` when traced.
        """
        ts = check_times(ts, "ts", start=t0, start_name="t0")
        rho0 = None if rho0 is None else check_start(self, rho0)
        return self._batched(lambda m, r0, ts_, t0_: m._evolve(ts_, r0, t0_, method, rtol, atol, max_steps, solver,
                                                                adjoint), ts, t0, rho0, adjoint)

    def _batched(self, fn, ts, t0, rho0, adjoint):
        """``fn(model, rho0, ts, t0)`` (``batch_shape`` in front): ONE batched solve under ``jax.vmap`` over
        models too (``_tavis_cummings_batching.member_batched``); forward-mode derivatives with
        ``adjoint=diffrax.ForwardMode()``, reverse mode otherwise."""
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
        """Populations of the Dicke levels of rho_B(t) from the default start(s), (*batch, n_t, N+1).

        Excitation-number conservation makes the reduced battery state of the charged (and of the
        empty) start DIAGONAL in the Dicke basis: rho_B[i, j] = sum_n rho[i, n; j, n] vanishes for
        i != j (the two entries lie in different sectors).  So rho_B(t) = diag(p(t)), and only p is
        stored at the save times (``SaveAt(fn=...)``): a whole grid at 150 times costs (N+1) numbers a
        point and time.  Index i holds M = J - i (energy w_b (N - i)).  With ``pair=True`` both starts
        are integrated in the same solve and the result is (2, *batch, n_t, N+1) (charged, empty).
        ``ts`` is checked as in :meth:`evolve`.
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

        From the default start (``rho0=None``, method "auto"/"sector") only the diagonal reduced state
        is computed (``battery_populations``); otherwise ``evolve`` and the partial trace.  Inputs are
        checked as in :meth:`evolve`."""
        if rho0 is None and kwargs.get("method", "auto") in ("auto", "sector"):
            kwargs.pop("method", None)
            p = self.battery_populations(ts, **kwargs)
            return self.population_ergotropy(p)
        return self.ergotropy(self.evolve(ts, rho0, **kwargs))

    def final_ergotropy(self, t1=20.0, **kwargs):
        """Ergotropy of rho_B(t1) from the default start (the survival-map quantity), ``batch_shape``.

        Uses the diagonal reduced state of ``battery_populations`` (one save point).  ``t1`` must be
        finite and >= t0 (default 0): ``ValueError`` naming it (``eqx.error_if`` when traced)."""
        t0 = kwargs.get("t0", 0.0)
        t1 = jnp.asarray(t1, dtype=float)
        t1 = checks(t1, finite_rules(t1, "t1") + [(lambda: t1 >= t0, "t1 must be >= t0 (the start, default 0)")])
        p = self.battery_populations(t1[None], **kwargs)[..., 0, :]
        return self.population_ergotropy(p)

    def trace_distance_curve(self, ts, **kwargs):
        """D(t) between the reduced battery states started in |J,J>|0> and |J,-J>|0>, (*batch, len(ts))."""
        p = self.battery_populations(ts, pair=True, **kwargs)
        return 0.5 * jnp.sum(jnp.abs(p[0] - p[1]), axis=-1)  # trace distance of diagonal states

    def dynamics(self, ts, **kwargs):
        """Everything of Table I / Fig. 1 from ONE solve of the pair (|J,J>|0>, |J,-J>|0>).

        Returns a dict of arrays: ``ergotropy`` and ``ergotropy_published`` (*batch, n_t) (physical and
        published functionals of the charged run, whatever ``conventions`` is), ``trace_distance``
        (*batch, n_t), ``blp_published`` (the paper's estimator on ``ts``) and ``blp_variation`` (total
        positive variation of D on ``ts``; refine ``ts`` for the converged value), both (*batch,).
        ``ts`` is checked as in :meth:`evolve` (at least 3 times, for the paper's estimator).
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
        """BLP measure of the pair (|J,J>|0>, |J,-J>|0>) over ``ts`` (shape ``batch_shape``).

        published: Simpson's rule over the uniform ``ts`` of max(0, numpy.gradient(D, dt)) (the paper's
        estimator, exactly; needs >= 3 uniformly spaced times).  physical: total positive variation of D
        on ``ts`` refined ``refine`` times (linear subdivision of every interval).  ``ts`` is checked as
        in :meth:`evolve`; ``refine`` must be an integer >= 1 (``ValueError`` naming it).
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
        """Table-I quantities of one solve of the BLP pair on ``linspace(0, t1, n_times)`` (each
        ``batch_shape``): the final ergotropy ``ergotropy`` (physical) and ``ergotropy_published`` (the
        paper's functional) at t1, the trace distance ``trace_distance`` of the pair at t1, and the BLP
        measure by the paper's estimator ``blp_published`` and by the total positive variation of D on
        the grid, ``blp_variation``; with ``curve=True`` also ``ergotropy_curve`` (physical, the whole
        grid, (*batch, n_times)).  ``t1`` must be finite and > 0 and ``n_times`` an integer >= 3
        (``ValueError`` naming them; ``eqx.error_if`` for a traced t1)."""
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
