"""Time units of the CLV models: 'D', 'W', 'M', 'Y' or a number of days per unit."""

from __future__ import annotations

TimeUnit = str | float

_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Y": 365.25}


def days_per_unit(time_unit: TimeUnit) -> float:
    """Days in one model time unit: 'D' 1, 'W' 7, 'M' 30.44, 'Y' 365.25, or the number given."""
    if isinstance(time_unit, str):
        try:
            return _DAYS[time_unit.upper()]
        except KeyError:
            raise ValueError(
                f"time_unit must be one of {sorted(_DAYS)} or days per unit, got {time_unit!r}"
            ) from None
    days = float(time_unit)
    if not days > 0:
        raise ValueError(f"time_unit must be a positive number of days, got {time_unit!r}")
    return days
