"""Battery models: one Equinox module a paper (see SPEC section 4)."""

from . import charger_battery
from .charger_battery import ChargerBattery

__all__ = ["ChargerBattery", "charger_battery"]
