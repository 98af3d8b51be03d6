"""The README's worked example runs as printed (#16): its shell blocks marked ```bash demo
run with bash, from the checkout, against the service started as `scripts/serve` starts it
(migrated, seeded with the demo data), and every answer has data, no errors and no
userErrors; the month's programStats are not zeros.

The graphql blocks the README shows are the files of docs/operations/, verbatim."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.demo_service import demo_env, serving

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
OPERATIONS = ROOT / "docs" / "operations"
FENCED = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _blocks(info: str) -> list[str]:
    return [body for tag, body in FENCED.findall(README.read_text()) if tag.strip() == info]


def _answers(stdout: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stdout.splitlines() if line.strip()]


def _user_errors(data: Any) -> list[Any]:
    """Every userErrors list anywhere in an answer's data, flattened."""
    if isinstance(data, dict):
        found = list(data.get("userErrors") or [])
        for value in data.values():
            found += _user_errors(value)
        return found
    if isinstance(data, list):
        return [error for item in data for error in _user_errors(item)]
    return []


def test_the_readme_shows_the_operation_files_verbatim():
    files = {path.read_text() for path in OPERATIONS.glob("*.graphql")}
    shown = _blocks("graphql")
    assert shown
    assert [block for block in shown if block not in files] == []


@pytest.mark.skipif(
    shutil.which("jq") is None or shutil.which("curl") is None,
    reason="the README's example needs curl and jq",
)
def test_the_readme_examples_run_as_printed_on_the_demo_data(tmp_path: Path):
    # given the service as scripts/serve starts it, on the demo data
    script = "\n".join(_blocks("bash demo"))
    calls = len(re.findall(r"^gql ", script, re.MULTILINE))
    assert calls >= 10
    env = demo_env(tmp_path, dict(os.environ))
    with serving(env, tmp_path / "service.log") as service:
        # when the examples run as printed
        done = subprocess.run(  # noqa: S603 - the README's own block
            ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607 - bash from PATH
            cwd=ROOT,
            env={**env, "API": service.graphql},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    # then every call answered data, without errors or userErrors
    assert done.returncode == 0, done.stderr
    answers = _answers(done.stdout)
    assert len(answers) == calls
    for answer in answers:
        assert "errors" not in answer, answer
        assert answer["data"], answer
        assert _user_errors(answer["data"]) == [], answer
    by_field = {field: answer["data"][field] for answer in answers for field in answer["data"]}
    stats = by_field["programStats"]
    print(  # noqa: T201 - the numbers of the report
        f"\nREADME: {calls} calls; programStats this month: members {stats['members']}, "
        f"pointsIssued {stats['pointsIssued']}, memberOrders {stats['memberOrders']['orders']}"
    )
    assert stats["members"] >= 3
    assert stats["pointsIssued"] > 0
    assert stats["memberOrders"]["orders"] == 1
    assert sum(Decimal(day["value"]) for day in by_field["programSeries"]) > 0
    assert by_field["customer"]["insight"]["orderCount"] == 1
    assert by_field["recordOrder"]["order"]["pointsEarned"] > 0
    assert by_field["completeOrder"]["order"]["status"] == "COMPLETED"
    # the campaign: the web order got it (as its quote said), the app's quote did not
    campaign_points = by_field["recordOrder"]["order"]["quote"]["campaignPoints"]
    assert campaign_points > 0
    assert [c["reason"] for c in by_field["checkout"]["rejectedCampaigns"]] == ["WRONG_CHANNEL"]
    [live] = by_field["campaigns"]["edges"]
    assert live["node"]["budgetSpent"] == campaign_points
