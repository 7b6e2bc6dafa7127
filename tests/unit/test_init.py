"""chartgen init: flags, --yes, prompts; whatever the path, the written spec validates."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from chartgen import init, spec
from chartgen.cli import app

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, list(args), input=input)


def valid(path) -> spec.Spec:
    s, problems = spec.check_file(str(path))
    assert s is not None, [p.format() for p in problems]
    return s


@pytest.mark.parametrize("backup", ["none", "s3", "gcs", "azure"])
@pytest.mark.parametrize("topology", ["single", "duo", "trio"])
def test_every_topology_and_backup_target_renders_a_valid_spec(topology, backup):
    text = init.render({"topology": topology, "backup": backup})
    s, problems = init.check_text(text)
    assert s is not None, [p.format() for p in problems]
    assert s.get("spec.topology") == topology
    if backup == "none":
        assert s.get("spec.backup.enabled") is False
    else:
        assert s.get("spec.backup.enabled") is True and backup in s.raw["spec"]["backup"]


def test_defaults_follow_earlier_answers():
    a = init.defaults({"name": "shop", "topology": "duo", "pg_version": "15", "backup": "s3"})
    assert a["durability"] == "async"  # duo + sync would lose its guarantee with the replica down
    assert init.defaults({"topology": "trio"})["durability"] == "sync"
    assert a["image_tag"].startswith("15-")
    assert a["bucket"] == "shop-backups" and a["credentials_secret"] == "shop-backup-creds"
    assert "storage_account" not in a  # azure questions only follow an azure answer


def test_answer_checks_explain_and_suggest():
    assert init.check_answer("topology", "tri", {}) == "'tri' is not one of single, duo, trio; did you mean \"trio\"?"
    assert "lowercase" in init.check_answer("name", "Acme", {})
    assert "longer than 51" in init.check_answer("name", "a" * 52, {})
    assert "SemVer" in init.check_answer("chart_version", "v1.0", {})
    assert init.check_answer("storage_class", "", {}) is None  # optional: empty leaves it out
    assert init.check_answer("bucket", "Bad_Bucket", {"backup": "gcs"}) is not None
    assert init.check_answer("endpoint", "minio:9000", {"backup": "s3"}) is not None


def test_yes_writes_defaults_that_validate(tmp_path):
    res = run("init", str(tmp_path), "--yes")
    assert res.exit_code == 0, res.output
    target = tmp_path / "supabase-db.yaml"
    s = valid(target)
    assert (s.name, s.get("spec.topology"), s.get("spec.postgres.version")) == ("supabase-db", "trio", "17")
    assert f"wrote {target}" in res.output
    text = target.read_text()
    assert text.startswith("# supabase-db:") and "# single | duo | trio" in text  # commented for humans


def test_flags_land_in_the_spec(tmp_path):
    out = tmp_path / "specs" / "acme.yaml"
    res = run("init", "--output-file", str(out), "--yes", "--name", "acme-db", "--namespace", "prod", "--topology", "duo",
              "--pg-version", "15", "--size", "large", "--storage", "200Gi", "--storage-class", "gp3",
              "--backup", "s3", "--bucket", "acme-wal", "--endpoint", "https://minio.minio:9000",
              "--region", "eu-west-1", "--credentials-secret", "acme-s3", "--chart-version", "2.0.0")
    assert res.exit_code == 0, res.output
    s = valid(out)
    assert s.raw["metadata"] == {"name": "acme-db", "namespace": "prod"}
    assert s.get("spec.postgres.version") == "15" and s.get("spec.postgres.size") == "large"
    assert s.get("spec.postgres.storage") == {"size": "200Gi", "storageClass": "gp3"}
    s3 = s.raw["spec"]["backup"]["s3"]
    assert s3["bucket"] == "acme-wal" and s3["endpoint"] == "https://minio.minio:9000" and s3["forcePathStyle"]
    assert s3["credentials"] == {"secretName": "acme-s3"}
    assert s.get("chart.version") == "2.0.0"


def test_azure_flags(tmp_path):
    res = run("init", str(tmp_path), "--yes", "--name", "az", "--backup", "azure", "--storage-account", "acmewal",
              "--container", "az-wal")
    assert res.exit_code == 0, res.output
    azure = valid(tmp_path / "az.yaml").raw["spec"]["backup"]["azure"]
    assert azure == {"storageAccount": "acmewal", "container": "az-wal", "credentials": {"secretName": "az-backup-creds"}}


def test_prompts_take_answers_reask_on_bad_input_and_follow_the_backup_choice(tmp_path):
    answers = [
        "shop-db",  # name
        "",  # namespace: default
        "tri",  # topology: invalid, asked again
        "duo",
        "",  # durability: default (async for duo)
        "15",  # pg version
        "",  # size
        "",  # storage
        "",  # storage class: none
        "",  # image
        "",  # image tag
        "gcs",  # backup target -> bucket and secret follow, no S3 region/endpoint
        "shop-wal",
        "shop-gcs",
        "1.0.0",
    ]
    res = run("init", str(tmp_path), input="\n".join(answers) + "\n")
    assert res.exit_code == 0, res.output
    assert 'did you mean "trio"?' in res.output
    assert "region" not in res.output.lower()
    s = valid(tmp_path / "shop-db.yaml")
    assert s.get("spec.topology") == "duo" and s.get("spec.durability") == "async"
    assert s.get("spec.postgres.version") == "15"
    assert s.raw["spec"]["backup"]["gcs"] == {"bucket": "shop-wal", "credentials": {"secretName": "shop-gcs"}}
    assert "storageClass" not in s.raw["spec"]["postgres"]["storage"]


def test_flags_skip_their_prompts(tmp_path):
    # Everything but the chart version is given: exactly one question is asked.
    res = run("init", str(tmp_path), "--name", "a", "--namespace", "n", "--topology", "single", "--durability",
              "async", "--pg-version", "17", "--size", "xsmall", "--storage", "10Gi", "--storage-class", "",
              "--image", "ghcr.io/x/y", "--image-tag", "t1", "--backup", "none", input="3.1.4\n")
    assert res.exit_code == 0, res.output
    assert res.output.count("Chart version") == 1 and "Namespace" not in res.output
    assert valid(tmp_path / "a.yaml").get("chart.version") == "3.1.4"


def test_no_answer_on_stdin_is_a_clear_error(tmp_path):
    res = run("init", str(tmp_path), input="only-a-name\n")
    assert res.exit_code == 1
    assert "no answer for --namespace on stdin" in res.output and "--yes" in res.output
    assert "Traceback" not in res.output and not list(tmp_path.iterdir())


def test_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "keep.yaml"
    target.write_text("mine\n")
    res = run("init", "--output-file", str(target), "--yes")
    assert res.exit_code == 1 and "already exists: pass --force" in res.output
    assert target.read_text() == "mine\n"
    res = run("init", "--output-file", str(target), "--yes", "--force")
    assert res.exit_code == 0, res.output
    valid(target)


def test_refuses_before_asking_when_the_target_is_known(tmp_path):
    (tmp_path / "x.yaml").write_text("mine\n")
    res = run("init", str(tmp_path), "--name", "x", input="")
    assert res.exit_code == 1 and "already exists" in res.output and "Namespace" not in res.output


def test_bad_flag_is_a_usage_error_with_suggestion(tmp_path):
    res = run("init", str(tmp_path), "--yes", "--topology", "tri", "--backup", "s4")
    assert res.exit_code == 2
    assert 'did you mean "trio"?' in res.output and "--backup" in res.output
    assert not list(tmp_path.iterdir())


def test_contradicting_answers_are_refused_with_the_reason(tmp_path):
    res = run("init", str(tmp_path), "--yes", "--topology", "single", "--durability", "strict")
    assert res.exit_code == 1
    assert "spec.durability" in res.output and "needs a replica" in res.output
    assert not list(tmp_path.iterdir())


def test_json_output_and_warnings(tmp_path):
    res = runner.invoke(app, ["init", str(tmp_path), "--yes", "--name", "dd", "--topology", "duo", "--durability",
                              "sync", "--output", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["path"] == str(tmp_path / "dd.yaml") and data["answers"]["durability"] == "sync"
    assert [w["path"] for w in data["warnings"]] == ["spec.durability"]
    assert yaml.safe_load((tmp_path / "dd.yaml").read_text())["spec"]["topology"] == "duo"


def test_a_yaml_path_argument_is_the_file_to_write(tmp_path):
    from typer.testing import CliRunner

    from chartgen.cli import app

    target = tmp_path / "specs" / "acme.yaml"
    res = CliRunner().invoke(app, ["init", str(target), "--yes", "--name", "acme"])
    assert res.exit_code == 0, res.output
    assert target.is_file()


def test_schedule_default_is_the_schemas(tmp_path):
    from chartgen import schema

    out = tmp_path / "s.yaml"
    res = run("init", "--output-file", str(out), "--yes", "--backup", "s3", "--bucket", "b-1")
    assert res.exit_code == 0, res.output
    assert valid(out).raw["spec"]["backup"]["schedule"] == schema.subschema(
        ("spec", "backup", "schedule"))["default"]


def test_ca_bundle_and_pooler_flags(tmp_path):
    out = tmp_path / "m.yaml"
    res = run("init", "--output-file", str(out), "--yes", "--backup", "s3", "--bucket", "b-1",
              "--endpoint", "https://minio.minio.svc:9000", "--ca-bundle", "minio-ca", "--pooler-instances", "3",
              "--schedule", "30 3 * * *")
    assert res.exit_code == 0, res.output
    raw = valid(out).raw["spec"]
    assert raw["backup"]["s3"]["caBundle"] == {"secretName": "minio-ca"}
    assert raw["pooler"]["instances"] == 3 and raw["backup"]["schedule"] == "30 3 * * *"
    off = tmp_path / "o.yaml"
    assert run("init", "--output-file", str(off), "--yes", "--no-pooler").exit_code == 0
    assert valid(off).raw["spec"]["pooler"] == {"enabled": False}
    res = run("init", "--output-file", str(tmp_path / "x.yaml"), "--yes", "--pooler-instances", "0")
    assert res.exit_code == 2 and "--pooler-instances" in res.output
