"""Fuzz: random valid, invalid and edge-case inputs over the public core functions, eagerly, under
``jax.jit`` and under ``jax.vmap``.  Each call must either raise an error that names the argument or
return a value equal to an independent NumPy/SciPy reference (no silent wrong number, no silent
NaN/inf).  The default run draws a few hundred cases; ``-m slow`` draws ten thousand.

Set ``QBJAX_FUZZ_REPORT=path.json`` to write the per-function counts (raised / matched) of a run.
"""

import json
import os
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qbjax as qb

COUNTS: Counter = Counter()
STATE_DEFECTS = ["valid", "valid", "trace", "hermitian", "negative", "nan", "inf", "roundoff"]
MODES = ["eager", "jit", "vmap"]


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    path = os.environ.get("QBJAX_FUZZ_REPORT")
    if path:
        table = {}
        for (fn, outcome), n in COUNTS.items():
            table.setdefault(fn, {})[outcome] = n
        with open(path, "w") as f:
            json.dump(table, f, indent=1, sort_keys=True)


def _state(rng, d, defect):
    """A random density matrix (d, d), then the requested defect."""
    A = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    rho = A @ A.conj().T
    rho /= np.trace(rho).real
    if defect == "trace":
        rho = rho * rng.choice([0.0, 0.5, 2.0, 3.0, -1.0])
    elif defect == "hermitian":
        rho = rho + 0.1 * np.triu(np.ones((d, d)), 1)
    elif defect == "negative":
        w, v = np.linalg.eigh(rho)
        w = np.full(d, 1.0 / (d - 1))
        w[0] = -0.1
        w /= w.sum()
        rho = (v * w) @ v.conj().T
    elif defect in ("nan", "inf"):
        rho = rho.copy()
        rho[rng.integers(d), rng.integers(d)] = np.nan if defect == "nan" else rng.choice([np.inf, -np.inf])
    elif defect == "roundoff":
        E = rng.normal(size=(d, d)) * 1e-10
        rho = rho + E + E.T
    return rho


def _hamiltonian(rng, d, defect):
    A = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    H = A + A.conj().T
    if defect == "hermitian":
        H = H + np.triu(np.ones((d, d)), 1)
    elif defect == "nan":
        H[0, -1] = np.nan
    return H


_WRAPPED = {}


def _call(mode, f, *args, key=None):
    """f(*args) in ``mode``; errors propagate.  vmap adds and removes a batch axis of one.  ``key``
    names ``f`` so that its jit/vmap wrapper is built (and compiled, per shape) once per run."""
    args = [jnp.asarray(a) for a in args]
    if mode == "eager":
        return np.asarray(f(*args))
    key = (key or f, mode)
    if key not in _WRAPPED:
        _WRAPPED[key] = jax.jit(f) if mode == "jit" else jax.jit(jax.vmap(f))
    g = _WRAPPED[key]
    if mode == "jit":
        return np.asarray(jax.block_until_ready(g(*args)))
    return np.asarray(jax.block_until_ready(g(*(a[None] for a in args))))[0]


def _judge(name, mode, run, reference, names, valid):
    """Run ``run()``: an error must name one of ``names`` (and valid input must not raise); a value
    must be finite and equal to ``reference()``."""
    try:
        out = run()
    except Exception as err:  # ValueError eagerly, an equinox/JAX runtime error when traced
        msg = str(err)
        assert not valid, f"{name}[{mode}] rejected valid input: {msg[:300]}"
        assert any(n in msg for n in names), f"{name}[{mode}] error does not name {names}: {msg[:300]}"
        COUNTS[(name, "raised")] += 1
        return
    assert valid, f"{name}[{mode}] accepted invalid input and returned {out}"
    ref = reference()
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-8, err_msg=f"{name}[{mode}]")
    COUNTS[(name, "matched")] += 1


# --- NumPy references ------------------------------------------------------------------------


def _np_functionals(rho, H):
    r = np.linalg.eigvalsh(rho)
    e = np.linalg.eigvalsh(H)
    E = np.real(np.trace(rho @ H))
    Ep, Ea = np.sum(r[::-1] * e), np.sum(r * e)
    return {"energy": E, "passive_energy": Ep, "active_energy": Ea, "ergotropy": E - Ep,
            "antiergotropy": E - Ea, "capacity": Ea - Ep}


def _np_concurrence(rho):
    yy = np.kron([[0, -1j], [1j, 0]], [[0, -1j], [1j, 0]])
    R = rho @ yy @ rho.conj() @ yy
    lam = np.sqrt(np.clip(np.sort(np.linalg.eigvals(R).real)[::-1], 0, None))
    return max(0.0, lam[0] - lam[1] - lam[2] - lam[3])


def _np_lindblad(H, ops):
    d = H.shape[0]
    eye = np.eye(d)
    L = -1j * (np.kron(H, eye) - np.kron(eye, H.T))
    for A in ops:
        AdA = A.conj().T @ A
        L += np.kron(A, A.conj()) - 0.5 * np.kron(AdA, eye) - 0.5 * np.kron(eye, AdA.T)
    return L


def _random_lindbladian(rng, d):
    H = _hamiltonian(rng, d, "valid")
    ops = [rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)) for _ in range(2)]
    return _np_lindblad(H, ops)


def _np_steady(L):
    d = int(round(np.sqrt(L.shape[0])))
    x = sla.null_space(L)[:, 0]
    rho = x.reshape(d, d)
    return rho / np.trace(rho)


def _evolve_tight(L, rho0, ts):
    return qb.evolve(L, rho0, ts, rtol=1e-10, atol=1e-12)


def _current(L, J):
    return qb.cumulants(lambda lam: L + jnp.expm1(lam) * J, order=1)[..., 0]


# --- the fuzzed properties -------------------------------------------------------------------

FUNCTIONALS = ["energy", "passive_energy", "active_energy", "ergotropy", "antiergotropy", "capacity"]
CASE = dict(seed=st.integers(0, 2**31 - 1), mode=st.sampled_from(MODES))


def _fuzz(n_default):
    n = int(os.environ.get("QBJAX_FUZZ_EXAMPLES", n_default))
    return settings(max_examples=n, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_fuzz(60)
@given(**CASE, name=st.sampled_from(FUNCTIONALS), d=st.integers(2, 4),
       rho_defect=st.sampled_from(STATE_DEFECTS), h_defect=st.sampled_from(["valid"] * 4 + ["hermitian", "nan"]))
def test_fuzz_functionals(seed, mode, name, d, rho_defect, h_defect):
    rng = np.random.default_rng(seed)
    rho, H = _state(rng, d, rho_defect), _hamiltonian(rng, d, h_defect)
    valid = rho_defect in ("valid", "roundoff") and h_defect == "valid"
    _judge(name, mode, lambda: _call(mode, getattr(qb, name), rho, H),
           lambda: _np_functionals(rho, H)[name], ["rho", "H"], valid)


@_fuzz(60)
@given(**CASE, name=st.sampled_from(["purity", "partial_trace", "trace_distance", "concurrence"]),
       defect=st.sampled_from(STATE_DEFECTS))
def test_fuzz_state_functions(seed, mode, name, defect):
    rng = np.random.default_rng(seed)
    rho = _state(rng, 4, defect)
    other = _state(rng, 4, "valid")
    fns = {
        "purity": (qb.purity, lambda: np.real(np.trace(rho @ rho))),
        "partial_trace": (lambda r: qb.partial_trace(r, (2, 2), 1),
                          lambda: np.einsum("ijik->jk", rho.reshape(2, 2, 2, 2))),
        "trace_distance": (lambda r: qb.trace_distance(r, jnp.asarray(other)),
                           lambda: 0.5 * np.abs(np.linalg.eigvalsh(rho - other)).sum()),
        "concurrence": (qb.concurrence, lambda: _np_concurrence(rho)),
    }
    f, ref = fns[name]
    if name == "trace_distance":
        f, args = qb.trace_distance, (rho, other)
    else:
        args = (rho,)
    _judge(name, mode, lambda: _call(mode, f, *args, key=name), ref, ["rho"], defect in ("valid", "roundoff"))


@_fuzz(40)
@given(**CASE, defect=st.sampled_from(["valid", "valid", "nan", "inf", "trace", "scale"]),
       d=st.integers(2, 3))
def test_fuzz_steady_state(seed, mode, defect, d):
    rng = np.random.default_rng(seed)
    L = _random_lindbladian(rng, d)
    ref_L = L
    if defect in ("nan", "inf"):
        L = L.copy()
        L[rng.integers(d * d), rng.integers(d * d)] = np.nan if defect == "nan" else np.inf
    elif defect == "trace":
        L = L + 0.1 * np.eye(d * d)
    elif defect == "scale":
        L = L * 10.0 ** rng.uniform(-200, 200)
    _judge("steady_state", mode, lambda: _call(mode, qb.steady_state, L), lambda: _np_steady(ref_L), ["L"],
           defect in ("valid", "scale"))


@pytest.mark.slow  # ~13 s; evolve's bad times and states are checked case by case in test_validation.py
@_fuzz(30)
@given(**CASE, times=st.sampled_from(["valid", "valid", "decreasing", "unsorted", "nan", "repeated"]),
       defect=st.sampled_from(["valid", "valid", "trace", "negative", "nan"]))
def test_fuzz_evolve(seed, mode, times, defect):
    rng = np.random.default_rng(seed)
    L = _random_lindbladian(rng, 2)
    rho0 = _state(rng, 2, defect)
    ts = np.sort(rng.uniform(0, 2, size=3))
    ts = {"valid": ts, "decreasing": ts[::-1], "unsorted": ts[[1, 0, 2]], "nan": np.array([0.0, np.nan, 1.0]),
          "repeated": np.array([0.0, 0.5, 0.5])}[times]

    def ref():
        return np.stack([(sla.expm(L * (t - ts[0])) @ rho0.reshape(4)).reshape(2, 2) for t in ts])

    run = lambda: _call(mode, _evolve_tight, L, rho0, ts, key="evolve")
    _judge("evolve", mode, run, ref, ["ts", "rho0"], times == "valid" and defect == "valid")


@pytest.mark.slow  # ~10 s; cumulants' bad generators are checked case by case in test_validation.py
@_fuzz(30)
@given(**CASE, defect=st.sampled_from(["valid", "valid", "inf", "nan", "trace", "classical"]))
def test_fuzz_cumulants(seed, mode, defect):
    rng = np.random.default_rng(seed)
    L = _random_lindbladian(rng, 2)
    J = 0.5 * np.kron(np.array([[0, 1], [0, 0]]), np.array([[0, 1], [0, 0]]))  # a counted channel
    L = L + 0.5 * _np_lindblad(np.zeros((2, 2)), [np.array([[0, 1], [0, 0]])])
    if defect in ("inf", "nan"):
        L = L.copy()
        L[1, 2] = np.inf if defect == "inf" else np.nan
    elif defect == "trace":
        L = L + 0.1 * np.eye(4)
    elif defect == "classical":  # a 4-state rate matrix: columns sum to zero, but not a Lindbladian
        L = rng.uniform(0.1, 1, size=(4, 4))
        L -= np.diag(L.sum(axis=0))
        J = np.zeros((4, 4))

    def ref():  # j1 = dS/dlam at 0, S the eigenvalue of largest real part of L(lam), central difference
        S = lambda lam: np.max(np.linalg.eigvals(L + np.expm1(lam) * J).real)
        return (S(1e-5) - S(-1e-5)) / 2e-5

    _judge("cumulants", mode, lambda: _call(mode, _current, L, J, key="cumulants"), ref, ["generator"],
           defect == "valid")


@_fuzz(40)
@given(**CASE, omega=st.sampled_from([1.0, 0.3, 5.0, 0.0, -1.0, np.nan, np.inf]),
       T=st.sampled_from([0.0, 0.5, 2.0, 1e-3, -0.5, np.nan, np.inf]))
def test_fuzz_bose_einstein(seed, mode, omega, T):
    valid = np.isfinite(omega) and np.isfinite(T) and omega > 0 and T >= 0
    ref = lambda: 0.0 if T == 0 else 1.0 / np.expm1(omega / T)
    _judge("bose_einstein", mode, lambda: _call(mode, qb.bose_einstein, omega, T), ref, ["omega", "T"], valid)


@_fuzz(40)
@given(**CASE, h_defect=st.sampled_from(["valid", "valid", "hermitian", "nan"]),
       rate=st.sampled_from([0.0, 0.5, 2.0, -0.1, np.nan, np.inf]))
def test_fuzz_liouvillian(seed, mode, h_defect, rate):
    rng = np.random.default_rng(seed)
    H = _hamiltonian(rng, 2, h_defect)
    A = rng.normal(size=(1, 2, 2)) + 0j
    rates = np.array([rate])
    valid = h_defect == "valid" and np.isfinite(rate) and rate >= 0
    ref = lambda: _np_lindblad(H, [np.sqrt(rate) * A[0]])
    _judge("liouvillian", mode, lambda: _call(mode, qb.liouvillian, H, A, rates), ref, ["H", "rates"], valid)


@pytest.mark.slow
def test_fuzz_ten_thousand(tmp_path):
    """The same properties with ten thousand cases in all (run with -m slow): 1,250 per core property
    here and 300 per model in ``tests/models/test_model_fuzz.py``."""
    import subprocess
    import sys
    from pathlib import Path

    report = tmp_path / "fuzz.json"
    env = dict(os.environ, QBJAX_FUZZ_EXAMPLES="1250", QBJAX_FUZZ_MODEL_EXAMPLES="300", QBJAX_FUZZ_REPORT=str(report))
    models = Path(__file__).parents[1] / "models" / "test_model_fuzz.py"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, str(models),
                           "-m", "not slow"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    counts = {**json.loads(report.read_text()), **json.loads(Path(str(report) + ".models.json").read_text())}
    print(json.dumps(counts, indent=1, sort_keys=True))
    assert sum(sum(v.values()) for v in counts.values()) >= 10_000
