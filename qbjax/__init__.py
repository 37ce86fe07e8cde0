"""qbjax: simulate, differentiate and optimise quantum batteries with JAX.

Importing qbjax enables JAX's 64-bit mode (physics in float64/complex128).  Opt out with the
environment variable ``QBJAX_PRECISION=single`` before import, or ``qb.set_precision("single")``.

The public API is flat: battery functionals (``qb.ergotropy``, ``qb.capacity``, ...), states and
operators (``qb.basis``, ``qb.destroy``, ``qb.tensor``, ``qb.wigner``, ...), superoperators
(``qb.liouvillian``, ``qb.spre``, ``qb.sprepost``, ...), solvers (``qb.steady_state``, ``qb.evolve``,
``qb.sesolve``, ``qb.cumulants``, ``qb.joint_cumulants``), QuTiP interop (``qb.from_qutip``,
``qb.to_qutip``; QuTiP is optional, and the core functions also accept ``qutip.Qobj`` arguments) and the models
(``qb.models``, with the battery protocol ``qb.AbstractBattery``).
The implementation lives in private modules (``qbjax._ergotropy``, ``qbjax._evolve``, ...), loaded on
first use of a name (so ``import qbjax`` and ``qbjax --help`` are fast; JAX is imported when a name
that needs it is first used).
"""

from ._precision import _init_from_environment

_init_from_environment()

from ._lazy import attach  # noqa: E402

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = attach(__name__, {
    "models": ".models",
    "grid": ".grid",
    "sweep": ".sweep",
    "control": ".control",
    "optimize_protocol": ".control.protocol",
    "read_dataset": ".sweep.store",
    "AbstractBattery": ".models",
    "AbstractLindbladBattery": ".models",
    "active_energy": "._ergotropy",
    "antiergotropy": "._ergotropy",
    "basis": "._states",
    "bose_einstein": "._thermal",
    "capacity": "._ergotropy",
    "commutator_superop": "._superop",
    "concurrence": "._states",
    "cumulants": "._fcs",
    "destroy": "._states",
    "dicke_operators": "._states",
    "dissipator": "._superop",
    "enable_compilation_cache": "._cache",
    "energy": "._ergotropy",
    "ergotropy": "._ergotropy",
    "evolve": "._evolve",
    "from_qutip": "._interop",
    "get_precision": "._precision",
    "joint_cumulants": "._fcs",
    "ket2dm": "._states",
    "liouvillian": "._superop",
    "partial_trace": "._states",
    "passive_energy": "._ergotropy",
    "propagate": "._evolve",
    "purity": "._states",
    "set_precision": "._precision",
    "set_validation": "._validate",
    "spost": "._superop",
    "spre": "._superop",
    "sprepost": "._superop",
    "sesolve": "._sesolve",
    "steady_state": "._steady",
    "tensor": "._states",
    "to_qutip": "._interop",
    "trace_distance": "._states",
    "trace_vector": "._superop",
    "unvec": "._superop",
    "validation_enabled": "._validate",
    "vec": "._superop",
    "wigner": "._states",
})
__all__ = [*__all__, "__version__"]
