"""Battery models: one Equinox module a paper (see SPEC section 4)."""

from . import charger_battery, four_level
from .charger_battery import ChargerBattery
from .four_level import FourLevelBattery

__all__ = ["ChargerBattery", "FourLevelBattery", "charger_battery", "four_level"]
