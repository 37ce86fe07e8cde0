"""qbjax: simulate, differentiate and optimise quantum batteries with JAX.

Importing qbjax enables JAX's 64-bit mode (physics in float64/complex128).  Opt out with the
environment variable ``QBJAX_PRECISION=single`` before import, or ``qb.set_precision("single")``.

The public API is flat: battery functionals (``qb.ergotropy``, ``qb.capacity``, ...), states and
operators (``qb.basis``, ``qb.destroy``, ``qb.tensor``, ``qb.wigner``, ...), superoperators
(``qb.liouvillian``, ``qb.spre``, ``qb.sprepost``, ...), solvers (``qb.steady_state``, ``qb.evolve``,
``qb.cumulants``) and the models (``qb.models``, with the battery protocol ``qb.AbstractBattery``).
The implementation lives in private modules (``qbjax._ergotropy``, ``qbjax._evolve``, ...).
"""

from ._precision import _init_from_environment

_init_from_environment()

from . import models  # noqa: E402
from ._ergotropy import (  # noqa: E402
    active_energy,
    antiergotropy,
    capacity,
    energy,
    ergotropy,
    passive_energy,
)
from ._evolve import evolve, propagate  # noqa: E402
from ._fcs import cumulants  # noqa: E402
from ._precision import get_precision, set_precision  # noqa: E402
from ._states import (  # noqa: E402
    basis,
    concurrence,
    destroy,
    dicke_operators,
    ket2dm,
    partial_trace,
    purity,
    tensor,
    trace_distance,
    wigner,
)
from ._steady import steady_state  # noqa: E402
from ._superop import (  # noqa: E402
    commutator_superop,
    dissipator,
    liouvillian,
    spost,
    spre,
    sprepost,
    trace_vector,
    unvec,
    vec,
)
from ._thermal import bose_einstein  # noqa: E402
from ._validate import set_validation, validation_enabled  # noqa: E402
from .models import AbstractBattery, AbstractLindbladBattery  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "AbstractBattery",
    "AbstractLindbladBattery",
    "__version__",
    "active_energy",
    "antiergotropy",
    "basis",
    "bose_einstein",
    "capacity",
    "commutator_superop",
    "concurrence",
    "cumulants",
    "destroy",
    "dicke_operators",
    "dissipator",
    "energy",
    "ergotropy",
    "evolve",
    "get_precision",
    "ket2dm",
    "liouvillian",
    "models",
    "partial_trace",
    "passive_energy",
    "propagate",
    "purity",
    "set_precision",
    "set_validation",
    "spost",
    "spre",
    "sprepost",
    "steady_state",
    "tensor",
    "trace_distance",
    "trace_vector",
    "unvec",
    "vec",
    "validation_enabled",
    "wigner",
]
