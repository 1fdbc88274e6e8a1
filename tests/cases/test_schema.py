"""The JSON Schemas editors use: generated from the loader's models, committed up to date, named
by every packaged YAML file, and agreeing with the loader on what is valid."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from conformance.cases import schema
from conformance.cases.loader import packaged_paths

CASES_DIR = Path(__file__).resolve().parents[2] / "cases"
# schema file -> the package of the YAML files that name it, and the modeline they carry
KINDS = {
    "schema.json": ("conformance_cases", "schema.json"),
    "cli.schema.json": ("conformance_cases.cli", "../cli.schema.json"),
    "baseline.schema.json": ("conformance_cases.baselines", "../baseline.schema.json"),
}


def _errors(schema_file: str, document: Any) -> list[str]:
    """What is wrong with `document`: by the committed JSON Schema where jsonschema is
    installed, else by the pydantic model the schema is generated from."""
    try:
        import jsonschema
    except ImportError:
        model = schema.SCHEMA_FILES[schema_file]
        try:
            model.model_validate(document)
        except ValidationError as exc:
            return [str(err["loc"]) for err in exc.errors()]
        return []
    committed = json.loads((CASES_DIR / schema_file).read_text())
    validator = jsonschema.Draft202012Validator(committed)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("schema_file", sorted(schema.SCHEMA_FILES))
def test_committed_schema_is_the_export(schema_file: str) -> None:
    committed = (CASES_DIR / schema_file).read_text()
    exported = schema.json_schema_text(schema.SCHEMA_FILES[schema_file])
    assert committed == exported, (
        f"cases/{schema_file} is stale: run `python -m conformance.cases.schema --write cases`"
    )


def test_schema_module_prints_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert schema.main(["cli.schema.json"]) == 0
    assert json.loads(capsys.readouterr().out) == schema.json_schema(schema.CliCaseFileModel)
    assert schema.main(["--write", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(schema.SCHEMA_FILES)


def test_committed_schemas_are_valid_json_schemas() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    for name in schema.SCHEMA_FILES:
        jsonschema.Draft202012Validator.check_schema(json.loads((CASES_DIR / name).read_text()))


@pytest.mark.parametrize("schema_file", sorted(KINDS))
def test_every_packaged_file_names_its_schema_and_is_valid(schema_file: str) -> None:
    package, target = KINDS[schema_file]
    paths = packaged_paths(package)
    assert paths
    for path in paths:
        text = path.read_text()
        assert text.splitlines()[0] == f"# yaml-language-server: $schema={target}", path
        assert (path.parent / target).resolve() == (CASES_DIR / schema_file).resolve()
        assert _errors(schema_file, yaml.safe_load(text)) == [], path


def _core() -> dict[str, Any]:
    (path,) = [p for p in packaged_paths() if p.name == "core.yaml"]
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize(
    "breaks",
    [
        lambda d: d["defaults"].update(severity="maybe"),
        lambda d: d["matrices"][0]["axes"]["auth"]["token"]["gateway"].update(proxies=[]),
        lambda d: d["matrices"][0].pop("axes"),
        lambda d: d.update(schema="openclaw-conformance/cases/v2"),
        lambda d: d["matrices"][0]["rules"][0]["merge"].update(protocol={"min": "3", "max": 4}),
    ],
    ids=["enum", "unknown-key", "missing-axes", "schema-id", "string-for-integer"],
)
def test_schema_rejects_a_broken_file(breaks: Any) -> None:
    document = copy.deepcopy(_core())
    assert _errors("schema.json", document) == []
    breaks(document)
    assert _errors("schema.json", document) != []


def test_baseline_schema_rejects_a_blank_reason() -> None:
    document = {
        "schema": schema.BASELINE_SCHEMA,
        "target": "x",
        "entries": [{"id": "a", "reason": "  "}],
    }
    assert _errors("baseline.schema.json", document) != []
    document["entries"][0]["reason"] = "why"
    assert _errors("baseline.schema.json", document) == []
