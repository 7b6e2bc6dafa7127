"""PostgreSQL's parameter catalog per major, and PostgreSQL's own rules for reading a parameter's value.

The catalogs are data (chartgen/data/pg-parameters-<major>.json), generated from real servers by
``python -m chartgen.pgsettings_generate``. The value rules follow the server's GUC code (guc.c:
parse_bool, parse_int, parse_real, convert_to_base_unit, config_enum_lookup_by_name) so that a value is
accepted here exactly when the server accepts it in postgresql.conf; tests/unit/test_pgsettings.py
checks that against a real server.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from . import resources, schema

DATA = "data/pg-parameters-{major}.json"

#: Memory units in bytes, largest first (PostgreSQL's memory_unit_conversion_table order).
MEMORY_UNITS = {"TB": 1024**4, "GB": 1024**3, "MB": 1024**2, "kB": 1024, "B": 1}
#: Time units in microseconds, largest first (time_unit_conversion_table order).
TIME_UNITS = {"d": 86_400_000_000, "h": 3_600_000_000, "min": 60_000_000, "s": 1_000_000, "ms": 1000, "us": 1}

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_MAX_UNIT_LEN = 3
_SPACE = " \t\n\v\f\r"  # C isspace() in the "C" locale
_DBL_MIN = 2.2250738585072014e-308
_OCTAL = re.compile(r"^[ \t\n\v\f\r]*[+-]?0[0-7]*[89]")
_BASE_UNIT = re.compile(r"^(\d*)(B|kB|MB|ms|s|min)$")


@dataclass(frozen=True)
class Setting:
    """One parameter as a server's pg_settings describes it."""

    name: str
    type: str  # bool | integer | real | string | enum
    context: str  # internal | postmaster | sighup | superuser-backend | backend | superuser | user
    unit: str | None = None  # pg_settings.unit: B, kB, MB, 8kB, ms, s, min
    min: float | int | None = None
    max: float | int | None = None
    values: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()  # accepted spellings pg_settings does not list
    default: str | None = None

    @property
    def restart(self) -> bool:
        """A change takes effect only after a server restart."""
        return self.context == "postmaster"

    @property
    def memory(self) -> bool:
        return self.unit is not None and self.unit.endswith("B")

    def base(self) -> tuple[str, int]:
        """("memory", bytes) or ("time", microseconds) of one unit of this setting."""
        m = _BASE_UNIT.match(self.unit or "")
        if not m:
            raise ValueError(f"{self.name}: unknown unit {self.unit!r}")
        count = int(m.group(1) or 1)
        if m.group(2) in MEMORY_UNITS:
            return "memory", count * MEMORY_UNITS[m.group(2)]
        return "time", count * TIME_UNITS[m.group(2)]


@dataclass(frozen=True)
class Catalog:
    major: str
    server: str
    source: str
    libraries: tuple[str, ...]
    settings: dict[str, Setting] = field(repr=False)
    #: Lower-cased names: PostgreSQL matches parameter names case-insensitively (DateStyle, TimeZone).
    by_lower: dict[str, Setting] = field(repr=False)

    def get(self, name: str) -> Setting | None:
        return self.by_lower.get(name.lower())

    @cached_property
    def prefixes(self) -> frozenset[str]:
        """Custom-parameter prefixes this catalog has real data for (the libraries loaded to make it)."""
        return frozenset(n.split(".", 1)[0] for n in self.by_lower if "." in n)


def _setting(name: str, raw: dict) -> Setting:
    return Setting(name=name, type=raw["type"], context=raw["context"], unit=raw.get("unit"),
                   min=raw.get("min"), max=raw.get("max"), values=tuple(raw.get("values") or ()),
                   hidden=tuple(raw.get("hidden") or ()), default=raw.get("default"))


def parse_catalog(doc: dict) -> Catalog:
    settings = {name: _setting(name, raw) for name, raw in doc["parameters"].items()}
    return Catalog(major=str(doc["major"]), server=doc.get("server", ""), source=doc.get("source", ""),
                   libraries=tuple(doc.get("libraries") or ()), settings=settings,
                   by_lower={name.lower(): s for name, s in settings.items()})


@lru_cache(maxsize=None)
def load(major: str) -> Catalog:
    """The catalog of one PostgreSQL major; FileNotFoundError when chartgen has none for it."""
    path = resources.package_data(DATA.format(major=major))
    with open(path, encoding="utf-8") as fh:
        return parse_catalog(json.load(fh))


def majors() -> list[str]:
    """The majors chartgen has a catalog for."""
    folder = resources.package_data("data")
    found = (re.match(r"^pg-parameters-(\d+)\.json$", p.name) for p in folder.iterdir())
    return sorted((m.group(1) for m in found if m), key=int)


# ---- values ----------------------------------------------------------------------------------------------


def conf_text(value: Any) -> str:
    """The text a spec value becomes in postgresql.conf (what the server parses)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


@dataclass(frozen=True)
class Parsed:
    """A value the server accepts: ``value`` is bool, int or float (in the setting's unit), or str."""

    value: Any

    ok = True


@dataclass(frozen=True)
class Invalid:
    """A value the server refuses, and why (one line, without the parameter's name)."""

    reason: str

    ok = False


def parse(setting: Setting, text: str) -> Parsed | Invalid:
    """``text`` as the server reads it for ``setting`` (postgresql.conf rules)."""
    kind = setting.type
    if kind == "bool":
        value = parse_bool(text)
        return Invalid(f"{_q(text)} is not a boolean (on/off, true/false, yes/no, 1/0)") if value is None \
            else Parsed(value)
    if kind == "enum":
        return _parse_enum(setting, text)
    if kind in ("integer", "real"):
        return _parse_number(setting, text)
    return Parsed(text)


def parse_bool(text: str) -> bool | None:
    """PostgreSQL's parse_bool: any case, unique prefixes of true/false/yes/no, on/off, 1/0; else None."""
    low, n = text.lower(), len(text)
    if not text:
        return None
    first = low[0]
    if first == "t" and "true".startswith(low):
        return True
    if first == "f" and "false".startswith(low):
        return False
    if first == "y" and "yes".startswith(low):
        return True
    if first == "n" and "no".startswith(low):
        return False
    if first == "o" and n >= 2:  # "o" alone is ambiguous
        if "on".startswith(low):
            return True
        if "off".startswith(low):
            return False
    if text == "1":
        return True
    if text == "0":
        return False
    return None


def _parse_enum(setting: Setting, text: str) -> Parsed | Invalid:
    for option in (*setting.values, *setting.hidden):
        if option.lower() == text.lower():
            return Parsed(option.lower())
    return Invalid(f"{_q(text)} is not one of its values{schema.suggest(text, list(setting.values))} "
                   f"(allowed: {', '.join(setting.values)})")


def _parse_number(setting: Setting, text: str) -> Parsed | Invalid:
    integer = setting.type == "integer"
    what = "an integer" if integer else "a number"
    if integer:
        value, end, overflow = _strtol(text)
        if end < len(text) and text[end] in ".eE" or overflow:
            value, end, overflow = _strtod(text)
    else:
        value, end, overflow = _strtod(text)
    if end == 0 or overflow or (isinstance(value, float) and math.isnan(value)):
        return Invalid(f"{_q(text)} is not {what}{_unit_hint(setting)}")
    rest = text[end:].lstrip(_SPACE)
    if rest:
        if not setting.unit:
            return Invalid(f"{_q(text)} is not {what} (this parameter takes no unit)")
        converted = _to_base_unit(float(value), rest, setting)
        if converted is None:
            octal = " (a leading 0 makes it octal)" if _OCTAL.match(text) else ""
            return Invalid(f"{_q(text)} has an invalid unit{octal}{_unit_fix(text, rest, setting)}"
                           f"{_unit_hint(setting)}")
        value = converted
    if integer and math.isfinite(value):
        value = int(round(value))  # rint(): round half to even, as Python's round()
    elif not integer:
        value = float(value)
    lo, hi = setting.min, setting.max
    # An integer beyond int32 fails the server's own range test first ("Value exceeds integer range"):
    # the same verdict, said with this parameter's range.
    if ((lo is not None and value < lo) or (hi is not None and value > hi)
            or (integer and not (math.isfinite(value) and _INT_MIN <= value <= _INT_MAX))):
        it = show(setting, value) if math.isfinite(value) else None
        return Invalid(f"{_q(text)} is outside the valid range {show(setting, lo)} .. {show(setting, hi)}"
                       + (f" (it is {it})" if it and it != text.strip(_SPACE) else ""))
    return Parsed(value)


def _unit_hint(setting: Setting) -> str:
    if not setting.unit:
        return ""
    kind, _ = setting.base()
    units = list(MEMORY_UNITS)[::-1] if kind == "memory" else list(TIME_UNITS)[::-1]
    return (f" (a number in {setting.unit}, or with one of the units {', '.join(units)}; "
            "units are case-sensitive)")


_UNIT_ALIASES = {
    "memory": {"k": "kB", "kb": "kB", "m": "MB", "g": "GB", "t": "TB", "mib": "MB", "gib": "GB", "kib": "kB",
               "tib": "TB", "mi": "MB", "gi": "GB", "ki": "kB", "ti": "TB", "bytes": "B"},
    "time": {"sec": "s", "secs": "s", "second": "s", "seconds": "s", "mins": "min", "minute": "min",
             "minutes": "min", "m": "min", "hr": "h", "hour": "h", "hours": "h", "day": "d", "days": "d",
             "msec": "ms", "msecs": "ms", "usec": "us"},
}


def _unit_fix(text: str, rest: str, setting: Setting) -> str:
    """A did-you-mean for a unit in the wrong case or another spelling ("64mb", "2Gi", "10sec")."""
    unit = rest.strip(_SPACE)
    kind, _ = setting.base()
    table = MEMORY_UNITS if kind == "memory" else TIME_UNITS
    fix = next((u for u in table if u.lower() == unit.lower()), None) or _UNIT_ALIASES[kind].get(unit.lower())
    if fix is None:
        return ""
    number = text.strip(_SPACE)[: -len(unit)].rstrip(_SPACE)
    return f'; did you mean "{number}{fix}"?'


def _to_base_unit(value: float, rest: str, setting: Setting) -> float | None:
    """PostgreSQL's convert_to_base_unit: ``value`` ``unit`` in the setting's unit, or None."""
    unit = ""
    i = 0
    while i < len(rest) and rest[i] not in _SPACE and len(unit) < _MAX_UNIT_LEN:
        unit += rest[i]
        i += 1
    if rest[i:].strip(_SPACE):
        return None  # unit too long, or garbage after it
    kind, base = setting.base()
    table = MEMORY_UNITS if kind == "memory" else TIME_UNITS
    if unit not in table:
        return None
    names = list(table)
    cvalue = value * (table[unit] / base)
    smaller = names.index(unit) + 1
    if smaller < len(names) and math.isfinite(cvalue):
        # A fractional value ("30.1GB") is rounded to a whole number of the next smaller unit.
        step = table[names[smaller]] / base
        cvalue = round(cvalue / step) * step
    return cvalue


def _strtol(text: str) -> tuple[int, int, bool]:
    """C strtol(text, &end, 0): (value, end index (0: no number), overflowed a 64-bit long)."""
    i = len(text) - len(text.lstrip(_SPACE))
    sign = 1
    if i < len(text) and text[i] in "+-":
        sign = -1 if text[i] == "-" else 1
        i += 1
    hexdigits = "0123456789abcdefABCDEF"
    if text[i:i + 2] in ("0x", "0X") and text[i + 2:i + 3] and text[i + 2] in hexdigits:
        base, digits, i = 16, hexdigits, i + 2
    elif text[i:i + 1] == "0":
        base, digits = 8, "01234567"
    else:
        base, digits = 10, "0123456789"
    j = i
    while j < len(text) and text[j] in digits:
        j += 1
    if j == i:
        return 0, 0, False
    value = sign * int(text[i:j], base)
    return value, j, not _LONG_MIN <= value <= _LONG_MAX


# ASCII digits only, as C's strtod in the "C" locale (Python's \d and float() take any Unicode digit).
_DEC_FLOAT = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_HEX_FLOAT = re.compile(r"0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)([pP][+-]?[0-9]+)?")
_SPECIAL = re.compile(r"(?i)infinity|inf|nan")


def _strtod(text: str) -> tuple[float, int, bool]:
    """C strtod(text, &end) as glibc does it: (value, end index (0: no number), ERANGE)."""
    i = len(text) - len(text.lstrip(_SPACE))
    sign = 1.0
    if i < len(text) and text[i] in "+-":
        sign = -1.0 if text[i] == "-" else 1.0
        i += 1
    m = _HEX_FLOAT.match(text, i)
    if m:
        value = float.fromhex("0x" + m.group(1) + (m.group(2) or "p0"))
        nonzero = any(c not in "0." for c in m.group(1))
    else:
        m = _DEC_FLOAT.match(text, i)
        if m:
            value = float(m.group(0))
            nonzero = any(c not in "0." for c in m.group(1))
        else:
            m = _SPECIAL.match(text, i)
            if not m:
                return 0.0, 0, False
            return sign * float(m.group(0)), m.end(), False
    # glibc sets ERANGE when the result overflows, or underflows to a subnormal or zero.
    erange = math.isinf(value) or (nonzero and abs(value) < _DBL_MIN)
    return sign * value, m.end(), erange


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


# ---- display ---------------------------------------------------------------------------------------------


def show(setting: Setting, value: float | int | None) -> str:
    """A number in ``setting``'s unit as a reader wants it: ``64kB``, ``8GB``, ``100ms``, ``2h``, ``-1``."""
    if value is None:
        return "?"
    if not setting.unit or value <= 0 or not math.isfinite(value) or value >= 1e300:
        return _plain(value)
    kind, base = setting.base()
    amount = value * base
    table = MEMORY_UNITS if kind == "memory" else TIME_UNITS
    for unit, size in table.items():
        if amount >= size and amount % size == 0 and amount / size < 10_000:
            return f"{_plain(amount / size)}{unit}"
    # No short exact form (2147483647kB): about so much of the largest unit that fits.
    unit, size = next((u, n) for u, n in table.items() if amount >= n)
    return f"~{float(f'{amount / size:.3g}'):g}{unit}"


def _plain(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def to_bytes(setting: Setting, value: float | int) -> int:
    """A memory setting's value in bytes."""
    kind, base = setting.base()
    if kind != "memory":
        raise ValueError(f"{setting.name} is not a memory setting")
    return int(value * base)
