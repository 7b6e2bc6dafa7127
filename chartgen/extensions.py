"""The image's extension list (image/extensions.yaml): load, validate, and derive what others need.

The Dockerfile's package lists, the bootstrap runner's CREATE EXTENSION list and the chart's preload
parameters all come from here, so the image and the chart cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml

from . import resources
from .errors import ChartgenError

SUPPORTED_MAJORS = ("15", "17")
SOURCES = ("pgdg", "pigsty", "spilo")
INSTALLED_SOURCES = ("pgdg", "pigsty")  # what the Dockerfile installs; `spilo` is already in the base image
PRELOADS = ("shared", "session", "none")
DEFAULT_SCHEMA = "extensions"
_KEYS = {"name", "library", "packages", "source", "preload", "create", "optional", "sql", "schema", "verified"}
_REQUIRED = ("name", "packages", "source", "preload", "create")


class ExtensionListError(ChartgenError):
    """image/extensions.yaml is malformed."""


@dataclass(frozen=True)
class Extension:
    name: str
    library: str
    packages: dict[str, str] | None
    source: str
    preload: str
    create: bool
    optional: bool
    sql: bool
    schema: str | None


@dataclass(frozen=True)
class Catalog:
    spilo_preload: tuple[str, ...]
    extensions: tuple[Extension, ...]

    def names(self) -> list[str]:
        return [e.name for e in self.extensions]

    def shared_preload_libraries(self, timescaledb: bool = False, enable: Iterable[str] = ()) -> list[str]:
        enabled = set(enable) | ({"timescaledb"} if timescaledb else set())
        libs = list(self.spilo_preload)
        for e in self.extensions:
            if e.preload == "shared" and (not e.optional or e.name in enabled) and e.library not in libs:
                libs.append(e.library)
        return libs

    def session_preload_libraries(self) -> list[str]:
        return _unique(e.library for e in self.extensions if e.preload == "session")

    def bootstrap_extensions(self) -> list[str]:
        return [e.name for e in self.extensions if e.create]

    def bootstrap_schemas(self) -> dict[str, str | None]:
        return {e.name: e.schema for e in self.extensions if e.create}

    def packages(self, pg_major: str) -> list[str]:
        major = str(pg_major)
        if major not in SUPPORTED_MAJORS:
            raise ExtensionListError(
                f"PostgreSQL {major} is not supported by the image (supported: {', '.join(SUPPORTED_MAJORS)})")
        return _unique(e.packages[major] for e in self.extensions
                       if e.source in INSTALLED_SOURCES and e.packages)


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _fail(source: str, where: str, message: str) -> ExtensionListError:
    return ExtensionListError(f"{source}: {where}: {message}")


def _string(value: Any, source: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, where, f"expected a non-empty string, got {value!r}")
    return value


def _bool(value: Any, source: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(source, where, f"expected true or false, got {value!r}")
    return value


def _entry(raw: Any, index: int, source: str) -> Extension:
    where = f"extensions[{index}]"
    if not isinstance(raw, dict):
        raise _fail(source, where, f"expected a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise _fail(source, where, f"unknown field(s) {', '.join(map(str, unknown))} (allowed: {', '.join(sorted(_KEYS))})")
    for key in _REQUIRED:
        if key not in raw:
            raise _fail(source, where, f"missing field '{key}'")
    name = _string(raw["name"], source, f"{where}.name")
    where = f"extensions[{index}] ({name})"
    src = raw["source"]
    if src not in SOURCES:
        raise _fail(source, f"{where}.source", f"{src!r} is not one of {', '.join(SOURCES)}")
    preload = raw["preload"]
    if preload not in PRELOADS:
        raise _fail(source, f"{where}.preload", f"{preload!r} is not one of {', '.join(PRELOADS)}")
    packages = raw["packages"]
    if packages is not None:
        if not isinstance(packages, dict):
            raise _fail(source, f"{where}.packages", "expected a mapping of PostgreSQL major to Debian package, or null")
        majors = {str(k) for k in packages}
        if majors != set(SUPPORTED_MAJORS):
            raise _fail(source, f"{where}.packages",
                        f"expected exactly the majors {', '.join(SUPPORTED_MAJORS)}, got {', '.join(sorted(majors)) or 'none'}")
        packages = {str(k): _string(v, source, f"{where}.packages.{k}") for k, v in packages.items()}
        for major, package in packages.items():
            if major not in package:
                raise _fail(source, f"{where}.packages.{major}", f"{package!r} does not name PostgreSQL {major}")
    elif src in INSTALLED_SOURCES:
        raise _fail(source, f"{where}.packages", f"source {src} is installed by the Dockerfile, so packages are required")
    create = _bool(raw["create"], source, f"{where}.create")
    optional = _bool(raw.get("optional", False), source, f"{where}.optional")
    sql = _bool(raw.get("sql", True), source, f"{where}.sql")
    if create and not sql:
        raise _fail(source, f"{where}.create", "a module without CREATE EXTENSION (sql: false) cannot be created")
    if optional and preload != "shared":
        raise _fail(source, f"{where}.optional", "only shared preload libraries can be optional")
    schema = raw.get("schema", DEFAULT_SCHEMA)
    if schema is not None:
        schema = _string(schema, source, f"{where}.schema")
    library = _string(raw.get("library", name), source, f"{where}.library")
    if "verified" in raw:
        _string(raw["verified"], source, f"{where}.verified")
    return Extension(name=name, library=library, packages=packages, source=src, preload=preload,
                     create=create, optional=optional, sql=sql, schema=schema)


def parse(data: Any, source: str = resources.EXTENSIONS) -> Catalog:
    """Validate the parsed YAML of an extension list; raise ExtensionListError naming the bad field."""
    if not isinstance(data, dict):
        raise _fail(source, "(document)", "expected a mapping with spiloPreload and extensions")
    unknown = sorted(set(data) - {"spiloPreload", "extensions"})
    if unknown:
        raise _fail(source, "(document)", f"unknown key(s) {', '.join(map(str, unknown))}")
    spilo = data.get("spiloPreload")
    if not isinstance(spilo, list) or not spilo:
        raise _fail(source, "spiloPreload", "expected a non-empty list of library names")
    spilo_libs = tuple(_string(v, source, f"spiloPreload[{i}]") for i, v in enumerate(spilo))
    if len(set(spilo_libs)) != len(spilo_libs):
        raise _fail(source, "spiloPreload", "duplicate library names")
    raw = data.get("extensions")
    if not isinstance(raw, list) or not raw:
        raise _fail(source, "extensions", "expected a non-empty list")
    entries = tuple(_entry(item, i, source) for i, item in enumerate(raw))
    seen: set[str] = set()
    for i, e in enumerate(entries):
        if e.name in seen:
            raise _fail(source, f"extensions[{i}].name", f"duplicate extension {e.name!r}")
        seen.add(e.name)
    return Catalog(spilo_preload=spilo_libs, extensions=entries)


def load_file(path: Path) -> Catalog:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ExtensionListError(f"{path}: cannot read the extension list: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ExtensionListError(f"{path}{pos}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return parse(data, str(path))


@lru_cache(maxsize=1)
def load() -> Catalog:
    """The image's extension list, validated (cached: it is read once per process)."""
    return load_file(resources.path(resources.EXTENSIONS))


def names() -> list[str]:
    return load().names()


def shared_preload_libraries(timescaledb: bool = False) -> list[str]:
    """Spilo's libraries first, then Supabase's, without duplicates, in a stable order."""
    return load().shared_preload_libraries(timescaledb)


def session_preload_libraries() -> list[str]:
    return load().session_preload_libraries()


def bootstrap_extensions() -> list[str]:
    return load().bootstrap_extensions()


def packages(pg_major: str) -> list[str]:
    """Debian packages the Dockerfile installs for one PostgreSQL major (PGDG and Pigsty sources)."""
    return load().packages(pg_major)


def package_list_text(pg_major: str, catalog: Catalog | None = None) -> str:
    """The content of image/packages-<major>.txt, which the Dockerfile installs."""
    cat = catalog or load()
    header = (f"# Generated from image/extensions.yaml for PostgreSQL {pg_major} "
              "(python image/generate-lists.py); do not edit.\n")
    return header + "".join(f"{p}\n" for p in cat.packages(pg_major))


def create_list_text(catalog: Catalog | None = None) -> str:
    """The content of image/bootstrap/create-extensions.txt: `name schema` per line, `-` for no SCHEMA clause."""
    cat = catalog or load()
    header = "# Generated from image/extensions.yaml (python image/generate-lists.py); do not edit.\n"
    return header + "".join(f"{name} {schema or '-'}\n" for name, schema in cat.bootstrap_schemas().items())
