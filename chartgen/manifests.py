"""Render a chart with the real Helm engine and validate what it produces.

- ``render``: Helm v4 (helm_python) with a chosen Kubernetes version and API versions, parsed into dicts.
- ``validate``: every ``postgresql`` object against the operator's CRD schema made strict
  (data/crds/postgresql.acid.zalan.do-v1.schema.json), every built-in kind with kubernetes-validate in strict
  mode, plus the operator's rules that the CRD does not express.
- ``lint``: ``helm lint`` as data.

Schemas and validators are built once per process: chartgen's render self-check runs on every spec.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import RenderError

CRD_SCHEMA = Path(__file__).resolve().parent / "data" / "crds" / "postgresql.acid.zalan.do-v1.schema.json"

#: Names the operator silently drops from spec.env (it sets them itself).
OPERATOR_OWNED_ENV = ("SPILO_CONFIGURATION", "SCOPE", "PGVERSION", "HUMAN_ROLE")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
#: The operator appends "-pooler-repl" (12) to the cluster name, and Service names are DNS labels (63).
MAX_CLUSTER_NAME = 51

#: Rendered manifests read back at most (the base chart renders about 30 KiB).
MAX_RENDERED_BYTES = 16 * 1024 * 1024

#: Kinds that are not built into Kubernetes and how they are checked instead.
SERVICE_MONITOR = ("monitoring.coreos.com/v1", "ServiceMonitor")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: parsing dominates render time otherwise
    """YAML as Kubernetes reads it: timestamps stay strings."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _helm():
    import helm_python

    return helm_python


@functools.lru_cache(maxsize=8)
def _load_chart(path: str, mtime_ns: int):
    # keyed by mtime so an edited chart directory is reloaded, a repeated render is not
    return _helm().Chart.load(path)


def load_chart(chart: str | Path | Any):
    """A loaded helm_python Chart from a directory or .tgz path (cached), or the Chart itself."""
    if not isinstance(chart, (str, Path)):
        return chart
    path = Path(chart)
    if not path.exists():
        raise RenderError(f"chart not found: {path}")
    try:
        return _load_chart(str(path.resolve()), path.stat().st_mtime_ns)
    except _helm().HelmError as exc:
        raise RenderError(f"{path}: Helm could not load the chart: {exc}") from exc


def load_chart_bytes(data: bytes, label: str):
    """A helm_python Chart from archive bytes (a pulled chart), without touching the disk."""
    try:
        return _helm().Chart.load_archive(data)
    except _helm().HelmError as exc:
        raise RenderError(f"{label}: Helm could not load the chart: {' '.join(str(exc).split())[:300]}") from None


def _values_error(exc: Exception) -> str:
    # Helm: "values don't meet the specifications ...:\n<chart>:\n- at '/path': message" per problem
    found = re.findall(r"^- (at '.*)$", str(exc), re.M)
    return "the values do not match values.schema.json: " + ("; ".join(found) if found else str(exc).strip())


@functools.lru_cache(maxsize=4)
def _values_validator(schema_text: str):
    # keyed by content: chartgen stamps many charts that share one schema
    import jsonschema

    from .schema import ecma_validator

    schema = json.loads(schema_text) if schema_text else {}
    # Patterns anchored as Helm's Go validator anchors them ($ = end of text), not as Python's re does.
    return ecma_validator(jsonschema.validators.validator_for(schema))(schema)


@functools.lru_cache(maxsize=8)
def _schemaless(path: str, mtime_ns: int):
    """The chart without values.schema.json (loaded into memory from a temporary copy), its validator and defaults."""
    import shutil
    import tempfile

    root = Path(path)
    schema_file = root / "values.schema.json"
    validator = _values_validator(schema_file.read_text() if schema_file.exists() else "")
    defaults = yaml.load((root / "values.yaml").read_text(), Loader=_Loader) if (root / "values.yaml").exists() else {}
    with tempfile.TemporaryDirectory(prefix="chartgen-chart-") as tmp:
        copy = Path(tmp) / root.name
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("values.schema.json"))
        chart = _helm().Chart.load(str(copy))
    return chart, validator, defaults or {}


def _coalesce(defaults: Any, values: Any) -> Any:
    """Helm's merge of user values over the chart's defaults (maps merge, null removes a default)."""
    if not isinstance(defaults, dict) or not isinstance(values, dict):
        return values
    out = dict(defaults)
    for key, value in values.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _coalesce(defaults.get(key), value)
    return out


def check_values(schema_text: str, values: dict) -> None:
    """Raise RenderError unless ``values`` (already coalesced) match the chart's values.schema.json text."""
    _raise_invalid(_values_validator(schema_text), values)


def _raise_invalid(validator, values: dict) -> None:
    errors = sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
    if errors:
        raise RenderError("the values do not match values.schema.json: " + "; ".join(
            f"at '/{'/'.join(str(p) for p in e.absolute_path)}': {e.message}" for e in errors))


def load_files(files: dict[str, bytes], name: str):
    """Load a chart held in memory as ``{relative path: bytes}`` (no filesystem round trip)."""
    from .package import archive_bytes

    try:
        return _helm().Chart.load_archive(archive_bytes(files, name, mtime=0, compresslevel=0))
    except _helm().HelmError as exc:
        raise RenderError(f"Helm could not load the chart {name}: {exc}") from exc


def _check_values_in_python(chart_dir: Path, values: dict):
    chart, validator, defaults = _schemaless(str(chart_dir.resolve()), chart_dir.stat().st_mtime_ns)
    _raise_invalid(validator, _coalesce(defaults, values))
    return chart


def render(
    chart: str | Path | Any,
    values: dict,
    *,
    release: str = "db",
    namespace: str = "default",
    kube_version: str = "v1.31.0",
    api_versions: Iterable[str] = (),
    values_check: str = "helm",
) -> list[dict]:
    """Render ``chart`` (directory, .tgz or loaded Chart) like ``helm install`` would; returns the objects.

    ``api_versions`` become ``.Capabilities.APIVersions`` (e.g. ``monitoring.coreos.com/v1``). Test hooks
    are included. Raises RenderError naming the failing value path or template.

    ``values_check``: "helm" lets Helm check the values against values.schema.json, as ``helm install``
    does; Helm compiles the schema on every render (10-20 ms here). "python" (chart directories only)
    checks the same coalesced values against the same schema with a validator compiled once, then renders
    a copy of the chart without the schema: same verdicts, several times faster for repeated renders.
    """
    helm = _helm()
    if values_check == "python" and isinstance(chart, (str, Path)) and Path(chart).is_dir():
        loaded = _check_values_in_python(Path(chart), values)
    elif values_check in ("helm", "python"):
        loaded = load_chart(chart)
    else:
        raise ValueError(f"values_check must be 'helm' or 'python', not {values_check!r}")
    options = {
        "name": release,
        "namespace": namespace,
        "is_install": True,
        "kube_version": kube_version if kube_version.startswith("v") else f"v{kube_version}",
        "api_versions": list(api_versions),
    }
    try:
        raw = helm._native.call_string("helm_render", loaded._raw(), json.dumps(values), json.dumps(options))
    except helm.HelmValuesError as exc:
        raise RenderError(_values_error(exc)) from exc
    except helm.HelmError as exc:
        raise RenderError(f"Helm could not render the chart: {_template_error(str(exc))}") from exc
    if len(raw) > MAX_RENDERED_BYTES:
        # Parsing is where memory goes (about 10x the text): stop before it.
        raise RenderError(f"the chart renders {len(raw) // 1048576} MiB of manifests (at most "
                          f"{MAX_RENDERED_BYTES // 1048576} MiB are read back): not a chart for one database cluster")
    docs: list[dict] = []
    for name, text in sorted(json.loads(raw).items()):
        if not text.strip() or name.endswith("NOTES.txt"):
            continue
        try:
            for doc in yaml.load_all(text, Loader=_Loader):
                if doc:
                    docs.append(doc)
        except yaml.YAMLError as exc:
            raise RenderError(f"{name} rendered invalid YAML: {exc}") from exc
    return docs


def _template_error(message: str) -> str:
    # Helm wraps a template `fail` as "...: error calling fail: <message>"; the message is what matters.
    match = re.search(r"error calling fail: (.*)", message, re.S)
    return match.group(1).strip() if match else message.strip()


REDACTED = "<redacted>"


def redact(docs: Iterable[dict]) -> list[dict]:
    """Copies of ``docs`` with every Secret value replaced, for diffs and golden files.

    Generated Secrets get new random values on every offline render (``lookup`` sees no cluster), and
    secret values have no place in review output anyway.
    """
    out = []
    for doc in docs:
        if doc.get("kind") == "Secret" and doc.get("apiVersion") == "v1":
            doc = dict(doc)
            for field in ("data", "stringData"):
                if isinstance(doc.get(field), dict):
                    doc[field] = {key: REDACTED for key in doc[field]}
        out.append(doc)
    return out


def notes(chart: str | Path | Any, values: dict, *, release: str = "db", namespace: str = "default") -> str:
    """The chart's rendered NOTES.txt."""
    loaded = load_chart(chart)
    out = loaded.render(values, name=release, namespace=namespace, is_install=True)
    return next((text for name, text in out.items() if name.endswith("NOTES.txt")), "")


@functools.lru_cache(maxsize=1)
def _crd_validator():
    import jsonschema

    schema = json.loads(CRD_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _kv():
    from kubernetes_validate import utils

    return utils


@functools.lru_cache(maxsize=4)
def _schema_dir(kube_version: str) -> str:
    """kubernetes-validate's strict schema directory for the newest version not above ``kube_version``."""
    from kubernetes_validate import utils
    from packaging.version import Version

    wanted = Version(utils.major_minor(kube_version))
    known = [v for v in utils.all_versions() if Version(utils.major_minor(v)) <= wanted]
    if not known or wanted > Version(utils.major_minor(utils.latest_version())):
        raise utils.VersionNotSupportedError(version=str(wanted))
    version = known[-1]
    return f"kubernetes-json-schema/v{version}-local-strict"


@functools.lru_cache(maxsize=4)
def _definitions(schema_dir: str):
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    return Resource.from_contents(utils.schema_contents(f"{schema_dir}/_definitions.json", schema_dir)) @ Registry()


@functools.lru_cache(maxsize=64)
def _builtin_validator(kube_version: str, api_version: str, kind: str):
    """The same strict schema kubernetes_validate.validate(strict=True) uses, compiled once per kind."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Resource

    schema_dir = _schema_dir(kube_version)
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"{schema_dir}/{kind.lower()}-{group}.json", kube_version)
    except FileNotFoundError:
        raise _kv().SchemaNotFoundError(version=kube_version, kind=kind, api_version=api_version) from None
    registry = Resource.from_contents(schema) @ _definitions(schema_dir)
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _where(doc: dict) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind', '?')}/{meta.get('name', '?')}"


def _path(parts: Sequence[Any]) -> str:
    return ".".join(str(p) for p in parts) or "(root)"


def _postgresql_rules(doc: dict) -> list[str]:
    """Operator rules that live in its Go code, not in the CRD."""
    problems = []
    name = (doc.get("metadata") or {}).get("name", "")
    if isinstance(name, str):
        if len(name) > MAX_CLUSTER_NAME:
            problems.append(f"metadata.name: {name!r} is longer than {MAX_CLUSTER_NAME} characters")
        if not DNS_1035.match(name):
            problems.append(f"metadata.name: {name!r} is not a DNS-1035 label")
    spec = doc.get("spec") or {}
    for i, env in enumerate(spec.get("env") or []):
        env_name = env.get("name", "") if isinstance(env, dict) else ""
        if not ENV_NAME.match(env_name):
            problems.append(f"spec.env.{i}.name: {env_name!r} is not UPPER CASE (Spilo reads names case-sensitively)")
        if env_name in OPERATOR_OWNED_ENV:
            problems.append(f"spec.env.{i}.name: {env_name} is dropped by the operator")
    for user, flags in (spec.get("users") or {}).items():
        if flags is None:
            problems.append(f"spec.users.{user}: null; a user without flags must be []")
    return problems


def _service_monitor_rules(doc: dict) -> list[str]:
    # No schema for this CRD ships with kubernetes-validate; check the fields the Prometheus Operator needs.
    spec = doc.get("spec") or {}
    problems = []
    if not (doc.get("metadata") or {}).get("name"):
        problems.append("metadata.name: missing")
    if not isinstance(spec.get("selector"), dict):
        problems.append("spec.selector: missing")
    endpoints = spec.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        problems.append("spec.endpoints: must be a non-empty list")
    else:
        for i, ep in enumerate(endpoints):
            if not isinstance(ep, dict) or not (ep.get("port") or ep.get("targetPort")):
                problems.append(f"spec.endpoints.{i}: needs port or targetPort")
    return problems


def validate(docs: Iterable[dict], kube_version: str = "1.31") -> list[str]:
    """Problems in rendered objects, each naming the object and the field path; [] when all are valid."""
    kv = _kv()
    version = kube_version.lstrip("v")
    if version.count(".") > 1:
        version = version.rsplit(".", 1)[0]
    problems: list[str] = []
    for doc in docs:
        where = _where(doc)
        if not isinstance(doc, dict):
            problems.append(f"{where}: not a mapping")
            continue
        api = (doc.get("apiVersion"), doc.get("kind"))
        if api == ("acid.zalan.do/v1", "postgresql"):
            for err in sorted(_crd_validator().iter_errors(doc), key=lambda e: list(e.absolute_path)):
                problems.append(f"{where}: {_path(err.absolute_path)}: {err.message}")
            problems.extend(f"{where}: {p}" for p in _postgresql_rules(doc))
        elif api == SERVICE_MONITOR:
            problems.extend(f"{where}: {p}" for p in _service_monitor_rules(doc))
        else:
            try:
                validator = _builtin_validator(version, str(api[0]), str(api[1]))
            except kv.SchemaNotFoundError:
                problems.append(f"{where}: no schema for {api[0]} {api[1]} in Kubernetes {version}")
                continue
            except (kv.InvalidSchemaError, kv.VersionNotSupportedError, IndexError) as err:
                problems.append(f"{where}: cannot validate against Kubernetes {version}: {getattr(err, 'message', err)}")
                continue
            for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                problems.append(f"{where}: {_path(err.absolute_path)}: {err.message}")
    return problems


def lint(chart_dir: str | Path, values: dict, *, namespace: str = "default", kube_version: str = "1.31.0") -> list[str]:
    """``helm lint --strict``: errors and warnings as ``SEVERITY path: message`` lines ([] when clean)."""
    helm = _helm()
    try:
        result = helm.lint(str(chart_dir), values, strict=True, namespace=namespace, kube_version=kube_version)
    except helm.HelmError as exc:
        raise RenderError(f"helm lint failed to run: {exc}") from exc
    names = {2: "WARNING", 3: "ERROR"}
    out = [
        f"{names[m['severity']]} {m['path']}: {m['error']}"
        for m in result.get("messages", [])
        if m.get("severity", 0) >= 2
    ]
    for err in result.get("errors", []):
        text = err if isinstance(err, str) else json.dumps(err)
        if not any(text in line for line in out):
            out.append(f"ERROR {text}")
    return out
