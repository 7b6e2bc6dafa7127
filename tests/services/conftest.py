"""The supabase-community services chart, rendered with `chartgen values --for supabase-kubernetes`, and
the Secrets the database chart, the operator and `chartgen keys` create beside it."""

from __future__ import annotations

import base64
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from chartgen import manifests, render, supabase_services
from chartgen import spec as spec_mod
from tests.conftest import ROOT, SHARED

CHART_ARCHIVE = SHARED / "upstream" / "supabase-kubernetes-chart.tar.gz"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
#: `helm install supabase ...`, as the README says.
RELEASE = "supabase"


@pytest.fixture(scope="session")
def services_chart(tmp_path_factory) -> Path:
    assert CHART_ARCHIVE.is_file(), f"the services chart is expected at {CHART_ARCHIVE} (../shared/upstream)"
    dest = tmp_path_factory.mktemp("supabase-kubernetes")
    with tarfile.open(CHART_ARCHIVE) as tar:
        tar.extractall(dest, filter="data")
    chart = dest / "supabase" / "charts" / "supabase"
    assert (chart / "Chart.yaml").is_file()
    return chart


@dataclass
class Installed:
    """One spec installed the README's way: database chart, `chartgen keys`, services chart."""

    spec: spec_mod.Spec
    database: list[dict]
    keys: dict
    services: list[dict]
    services_values: dict

    @property
    def secrets(self) -> dict[str, dict]:
        """Every Secret a pod of the services chart can reference: the database chart's (incl. the operator
        credentials Secrets it pre-creates), `chartgen keys`'s and the services chart's own."""
        found = [d for d in self.database + self.services + [self.keys] if d.get("kind") == "Secret"]
        return {d["metadata"]["name"]: d for d in found}

    def deployments(self) -> dict[str, dict]:
        """Deployment component name (rest, auth, ...) -> its first container."""
        out = {}
        for d in self.services:
            if d.get("kind") == "Deployment":
                name = d["metadata"]["name"].removeprefix(f"{RELEASE}-supabase-").removeprefix(f"{RELEASE}-")
                out[name] = d["spec"]["template"]["spec"]["containers"][0]
        return out


#: The JWT secret of the cluster a restore-spec example restores from (its Secret exists in the namespace).
SOURCE_JWT = "the-source-clusters-jwt-secret-0123456789abcdef"


def secret_value(doc: dict, key: str) -> str:
    return base64.b64decode(doc["data"][key]).decode()


def install(spec_path: Path, services_chart: Path, extra: dict | None = None) -> Installed:
    spec = spec_mod.load(str(spec_path))
    database = render.render_manifests(str(spec_path))
    jwt = None
    if not spec.get("spec.supabase.jwt.existingSecret"):
        jwt_doc = next(d for d in database if d["kind"] == "Secret" and d["metadata"]["name"].endswith("-supabase-jwt"))
        jwt = secret_value(jwt_doc, "secret")
    elif supabase_services.inherits_jwt(spec):
        jwt = SOURCE_JWT  # read from the source cluster's Secret, as the README says
    keys = yaml.safe_load(supabase_services.keys_manifest(spec, jwt, issued_at=int(time.time())))
    values = yaml.safe_load(supabase_services.values_yaml(spec))
    if extra:
        from chartgen.dicts import deep_merge
        values = deep_merge(values, extra)
    services = manifests.render(services_chart, values, release=RELEASE, namespace=spec.data["metadata"]["namespace"])
    return Installed(spec, database, keys, services, values)
