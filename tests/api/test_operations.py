"""The documented operations (docs/operations/*.graphql, #16) are what tools expect: each
file one named operation, valid against the printed schema, names unique across files, and
graphql-codegen (typescript + typescript-operations) turns them into TypeScript that tsc
accepts in strict mode. Any file added there is checked the same way."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import orjson
import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate

from tests.support.js import JS_DIR, NODE_MODULES, node_or_skip

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schema.graphql"
OPERATIONS = sorted((ROOT / "docs" / "operations").glob("*.graphql"))
# what a client maps the custom scalars to (README: BigInt is a JSON number, money a string)
SCALARS = {
    "BigInt": "number",
    "Date": "string",
    "DateTime": "string",
    "Decimal": "string",
    "JSON": "Record<string, unknown>",
}


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _operations(path: Path) -> list[OperationDefinitionNode]:
    document = parse(path.read_text())
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def test_there_are_documented_operations():
    assert len(OPERATIONS) >= 10


@pytest.mark.parametrize("path", OPERATIONS, ids=[p.name for p in OPERATIONS])
def test_each_file_is_one_named_operation_valid_against_the_schema(path: Path):
    # given the printed schema and one operation file
    schema = build_schema(SCHEMA.read_text())
    # when it is validated
    errors = validate(schema, parse(path.read_text()))
    # then it is valid, one operation, named as its file
    assert [error.message for error in errors] == []
    operations = _operations(path)
    assert len(operations) == 1
    assert operations[0].name is not None
    assert f"{_kebab(operations[0].name.value)}.graphql" == path.name


def test_operation_names_are_unique_across_files():
    names = [op.name.value for path in OPERATIONS for op in _operations(path) if op.name]
    assert sorted(names) == sorted(set(names))


def test_graphql_codegen_types_every_operation_and_tsc_accepts_them(tmp_path: Path):
    # given graphql-codegen configured as a TypeScript client would be
    node = node_or_skip()
    generated = tmp_path / "operations.ts"
    config = {
        "overwrite": True,
        "schema": str(SCHEMA),
        "documents": [str(path) for path in OPERATIONS],
        "generates": {
            str(generated): {
                "plugins": ["typescript", "typescript-operations"],
                "config": {"scalars": SCALARS, "enumsAsTypes": True, "strictScalars": True},
            }
        },
    }
    config_file = tmp_path / "codegen.json"
    config_file.write_bytes(orjson.dumps(config))
    # when it generates the types and tsc checks them
    codegen = subprocess.run(  # noqa: S603 - the installed codegen, fixed arguments
        [node, str(NODE_MODULES / ".bin" / "graphql-codegen"), "--config", str(config_file)],
        cwd=JS_DIR,  # where the plugins are installed
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert codegen.returncode == 0, codegen.stdout + codegen.stderr
    tsc = subprocess.run(  # noqa: S603 - the installed tsc, fixed arguments
        [
            node,
            str(NODE_MODULES / "typescript" / "bin" / "tsc"),
            "--noEmit",
            "--strict",
            "--target",
            "es2020",
            str(generated),
        ],
        cwd=tmp_path,  # the generated file imports nothing: no node_modules/@types
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # then every operation has its types, and they compile
    assert tsc.returncode == 0, tsc.stdout + tsc.stderr
    text = generated.read_text()
    for path in OPERATIONS:
        (operation,) = _operations(path)
        assert operation.name is not None
        assert f"export type {operation.name.value}{_suffix(operation)} = " in text
    lines = len(text.splitlines())
    print(f"\ncodegen: {len(OPERATIONS)} operations, {lines} lines, tsc ok")  # noqa: T201


def _suffix(operation: OperationDefinitionNode) -> str:
    return operation.operation.value.capitalize()
