"""The main job: spec -> values -> stamped chart, self-checked with the real Helm engine before writing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import chart, output
from . import spec as spec_mod
from . import values as values_mod
from .errors import RenderError

KUBE_VERSION = "v1.31.0"
SERVICE_MONITOR_API = "monitoring.coreos.com/v1"


@dataclass
class Rendered:
    spec: spec_mod.Spec
    name: str
    version: str
    files: dict[str, bytes]
    values: values_mod.Values
    manifests: list[dict] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return self.spec.data["metadata"]["namespace"]


def api_versions_for(spec: spec_mod.Spec) -> list[str]:
    """Capabilities the self-check renders with: a spec that asks for a ServiceMonitor expects the API."""
    return [SERVICE_MONITOR_API] if spec.get("spec.monitoring.serviceMonitor") else []


def render_files(files: dict[str, bytes], spec: spec_mod.Spec, name: str) -> list[dict]:
    """Render the stamped chart with Helm exactly as it will be installed, and validate the manifests.

    The chart never touches the disk here: Helm loads it from an in-memory archive. Helm's own check of
    values.yaml against values.schema.json recompiles the schema on every render (most of a render's
    time), so the same check runs in Python with the compiled schema cached, and Helm gets the chart
    without it. The verdicts are the same; ``helm install`` of the written chart still runs Helm's.
    """
    from . import manifests  # the Helm engine is loaded only when needed

    schema_text = files.get("values.schema.json", b"").decode("utf-8")
    if schema_text:
        manifests.check_values(schema_text, chart.load_yaml(files["values.yaml"]) or {})
    schemaless = {rel: data for rel, data in files.items() if rel != "values.schema.json"}
    docs = manifests.render(
        manifests.load_files(schemaless, name), {}, release=name,
        namespace=spec.data["metadata"]["namespace"], kube_version=KUBE_VERSION,
        api_versions=api_versions_for(spec),
    )
    problems = manifests.validate(docs, kube_version=KUBE_VERSION.lstrip("v").rsplit(".", 1)[0])
    if problems:
        raise RenderError(
            f"{spec.file}: the rendered chart is invalid (nothing was written):\n  " + "\n  ".join(problems)
        )
    return docs


def build(spec_path: str, version: str | None = None, self_check: bool = True) -> Rendered:
    """Everything ``render`` writes, in memory. Raises SpecError or RenderError."""
    spec = spec_mod.load(spec_path)
    vals = values_mod.build(spec)
    name, ver, files = chart.stamp(spec.data, vals, version)
    result = Rendered(spec, name, ver, files, vals)
    if self_check:
        result.manifests = render_files(files, spec, name)
    return result


def write(result: Rendered, out_dir: str | Path) -> Path:
    """Write ``OUT/<chart name>/``: only over a chart directory chartgen wrote, never leaving it empty."""
    return output.write_chart(result.files, Path(out_dir), result.name)


def check(result: Rendered, out_dir: str | Path) -> str:
    """A unified diff of ``OUT/<name>`` against what the spec gives; '' when up to date."""
    destination = Path(out_dir) / result.name
    return output.unified_diff(result.files, output.read_tree(destination), str(destination))


def render_manifests(spec_path: str) -> list[dict]:
    """The Kubernetes objects a spec's chart installs (the HA lab and ``diff`` read these)."""
    return build(spec_path).manifests
