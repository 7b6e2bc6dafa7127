"""The CI recipes and the project's own workflow lint clean: check-jsonschema's vendored GitHub/GitLab
schemas (offline: any network attempt goes to a dead proxy) and shellcheck on every shell step."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GITHUB = [ROOT / "examples/ci/github-actions.yml", ROOT / ".github/workflows/ci.yml",
          ROOT / ".github/workflows/release.yml"]
GITLAB = [ROOT / "examples/ci/gitlab-ci.yml"]
# No network: check-jsonschema must use the schemas it ships (vendor.*), never download one.
OFFLINE = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": ""}


def lint(schema: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True, env=OFFLINE, timeout=60)


def test_github_workflows_lint_clean():
    proc = lint("vendor.github-workflows", *GITHUB)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gitlab_ci_lints_clean():
    proc = lint("vendor.gitlab-ci", *GITLAB)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_linter_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(GITHUB[0].read_text().replace("runs-on:", "run-on:", 1))
    proc = lint("vendor.github-workflows", broken)
    assert proc.returncode == 1 and "runs-on" in proc.stdout


def _github_scripts(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text())
    return [step["run"] for job in doc["jobs"].values() for step in job["steps"] if "run" in step]


def _gitlab_scripts(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text())
    return ["\n".join(job[k]) for job in doc.values() if isinstance(job, dict)
            for k in ("before_script", "script") if k in job]


@pytest.mark.parametrize("path,scripts", [(p, _github_scripts) for p in GITHUB] + [(p, _gitlab_scripts) for p in GITLAB],
                         ids=lambda v: v.name if isinstance(v, Path) else "")
def test_shell_steps_pass_shellcheck(path, scripts):
    for script in scripts(path):
        # ${{ expressions }} are GitHub's templating, substituted before the shell sees the script.
        text = re.sub(r"\$\{\{[^}]*\}\}", "X", script)
        proc = subprocess.run([str(BIN / "shellcheck"), "-s", "bash", "-"], input=text, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, f"{path.name}:\n{script}\n{proc.stdout}"


def test_recipes_do_what_the_readme_promises():
    gh = GITHUB[0].read_text()
    for needle in ("chartgen validate", "chartgen render specs/*.yaml --output-dir charts/ --check", "chartgen package",
                   "oci://ghcr.io/", "--password-stdin", "GITHUB_TOKEN", "packages: write", "--sign"):
        assert needle in gh, needle
    gl = GITLAB[0].read_text()
    for needle in ("chartgen validate", "--check", "chartgen package", "$CI_REGISTRY_PASSWORD", "--password-stdin"):
        assert needle in gl, needle
    # Tokens reach chartgen on stdin only, never as an argument (arguments show up in process lists).
    assert not re.search(r"--password\s", gh + gl)
    ci = yaml.safe_load(GITHUB[1].read_text())
    assert any(step.get("run") == "./dev test" for step in ci["jobs"]["test"]["steps"])
