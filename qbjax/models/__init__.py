"""Battery models: one Equinox module a paper (see SPEC section 4)."""

from . import charger_battery, four_level, micromaser
from .charger_battery import ChargerBattery
from .four_level import FourLevelBattery
from .micromaser import Micromaser

__all__ = ["ChargerBattery", "FourLevelBattery", "Micromaser", "charger_battery", "four_level", "micromaser"]
