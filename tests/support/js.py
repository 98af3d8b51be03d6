"""The JavaScript clients of tests/js (Apollo Client, graphql-ws, graphql-codegen), installed
by scripts/setup-js. Tests that drive them call `node_or_skip()`: without node or the
installed packages they skip, saying why, except where LOYALTY_REQUIRE_JS=1 (CI sets it),
where a missing client fails the test instead."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parents[1] / "js"
NODE_MODULES = JS_DIR / "node_modules"


def node_or_skip() -> str:
    """The node binary, the clients installed; else skip (or fail where they are required)."""
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not installed"
    elif not (NODE_MODULES / ".loyalty-installed").exists():
        missing = f"the JavaScript clients are not installed in {NODE_MODULES} (scripts/setup-js)"
    if missing is None:
        assert node is not None
        return node
    if os.environ.get("LOYALTY_REQUIRE_JS") == "1":
        pytest.fail(f"{missing}, and LOYALTY_REQUIRE_JS=1 requires them")
    pytest.skip(missing)
