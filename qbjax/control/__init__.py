"""Time-dependent controls and charging-protocol optimisation."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "AbstractControl": ".base",
    "PiecewiseConstant": ".piecewise",
    "PiecewiseLinear": ".piecewise",
    "Fourier": ".fourier",
    "OBJECTIVES": ".dynamics",
    "ChargingProblem": ".dynamics",
    "make_problem": ".dynamics",
    "protocol_value": ".dynamics",
    "protocol_states": ".dynamics",
    "ProtocolResult": ".protocol",
    "optimize_protocol": ".protocol",
    "penalty_value": ".protocol",
})
