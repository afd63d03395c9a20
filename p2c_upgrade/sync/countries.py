"""Sales country values to ISO 3166 codes: value map, then exact lookup, then default; never fuzzy.

A wrong guess would put a customer in the wrong country for tax and delivery, so a value that is
neither mapped nor an exact ISO name or code is an error for that record.
"""

from __future__ import annotations

import pycountry

FORMATS = ("alpha2", "alpha3")


def field_format(field: str, configured: str) -> str:
    """The code a country field receives: `...COUNTRYREGIONID` fields F&O's country/region id
    (alpha-3, as in Microsoft's demo data), `...ISOCODE` fields the configured format (default
    alpha-2: the two-letter code current F&O versions take; FACTS.md)."""
    return "alpha3" if field.endswith("COUNTRYREGIONID") else configured

_CACHE_LIMIT = 4096


def iso_lookup(value: str, fmt: str) -> str | None:
    """The code of the country whose ISO code, number or name is exactly `value` (any case)."""
    try:
        country = pycountry.countries.lookup(value.strip())
    except LookupError:
        return None
    return str(country.alpha_3 if fmt == "alpha3" else country.alpha_2)


class CountryResolver:
    """Resolves Sales values with one value map; remembers a bounded number of answers."""

    def __init__(self, value_map: dict[str, str], fmt: str) -> None:
        self.fmt = fmt
        self.value_map = value_map  # keys already normalized by `map_key`
        self._cache: dict[str, str | None] = {}

    def resolve(self, value: str) -> str | None:
        """The ISO code for a non-blank Sales value, or None when it is unknown."""
        if value in self._cache:
            return self._cache[value]
        mapped = self.value_map.get(map_key(value))
        code = iso_lookup(mapped if mapped is not None else value, self.fmt)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[value] = code
        return code


def map_key(value: str) -> str:
    """Value maps match the Sales value ignoring case and surrounding spaces."""
    return value.strip().casefold()
