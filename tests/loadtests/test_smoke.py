"""The load-test tool runs end to end and writes its report.

A smoke test, not a benchmark: a few seconds of fan-out against the hub and
the bare baseline, and a small ticket run (reports, transitions, resume) on
the hub, checking that the report files appear and say what was measured.
No timing is asserted; timings on a shared machine mean nothing.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import TIMEOUT

ROOT = Path(__file__).resolve().parents[2]


def test_fanout_run_writes_report_for_hub_and_baseline(tmp_path: Path) -> None:
    out, docs = tmp_path / "results", tmp_path / "docs"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests",
            "run",
            "--profile",
            "fanout",
            "--subscribers",
            "20",
            "--rates",
            "4",
            "--duration",
            "1",
            "--drain",
            "1",
            "--probe-rounds",
            "3",
            "--servers",
            "hub,baseline",
            "--no-pin",
            "--out",
            str(out),
            "--publish",
            str(docs),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 18,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    report = json.loads((out / "report.json").read_text())
    assert {"machine", "versions", "cores", "results"} <= report.keys()
    # The committed copy the docs cite: the report and plots, not the logs.
    published = sorted(p.name for p in (docs / out.name).iterdir())
    assert {"report.json", "report.md"} <= set(published)
    assert not [name for name in published if name.endswith(".log")]
    by_server = {result["server"]: result for result in report["results"]}
    assert set(by_server) == {"hub", "baseline"}
    for result in by_server.values():
        assert "failed" not in result, result.get("failed")
        assert result["connect"]["connected"] == 20
        [step] = result["steps"]
        assert step["sent"] > 0
        assert step["received"] > 0
        # Every subscriber was read by the generator's lean reader.
        assert result["reader"] == "lean"
        assert step["lean_connections"] == 20
        assert step["generator_us_per_delivery"] is not None
        assert step["server_us_per_delivery"] is not None
        # Half the saturation rate is measured whenever there is one.
        half = result["half_saturation"]
        if result["saturation"] is None:
            assert half is None
        else:
            assert half["rate"] == result["saturation"]["rate"] / 2
            assert isinstance(half["met"], bool)

    markdown = (out / "report.md").read_text()
    assert "Homi hub" in markdown
    assert "Starlette + redis.asyncio" in markdown
    assert "busy KiB/conn" in markdown
    assert "At half the saturation rate" in markdown
    if importlib.util.find_spec("matplotlib") is not None:
        assert (out / "fanout-20-p99.png").stat().st_size > 0


def test_district_run_plays_statuses_and_tickets_beside_locations(
    tmp_path: Path,
) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests",
            "run",
            "--profile",
            "district",
            "--subscribers",
            "20",
            "--rates",
            "4",
            "--status-every",
            "2",
            "--ticket-rate",
            "5",
            "--duration",
            "2",
            "--drain",
            "2",
            "--probe-rounds",
            "3",
            "--servers",
            "hub",
            "--no-half-saturation",
            # The websockets reader, kept to compare with, still works.
            "--readers",
            "websockets",
            "--no-pin",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 18,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    [result] = json.loads((out / "report.json").read_text())["results"]
    assert "failed" not in result, result.get("failed")
    [step] = result["steps"]
    assert result["reader"] == "websockets"
    assert step["lean_connections"] == 0
    assert step["statuses_sent"] > 0
    assert step["status_frames_received"] > 0
    assert step["tickets"]["made"] > 0
    assert step["tickets"]["refused"] == 0
    assert "half_saturation" not in result
    assert "Beside the locations" in (out / "report.md").read_text()


def test_tickets_run_writes_report_with_audit_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests",
            "tickets",
            "--tenants",
            "20",
            "--transitions",
            "40",
            "--concurrency",
            "4",
            "--resume-events",
            "40",
            "--resume-rounds",
            "2",
            "--no-pin",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 18,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    report = json.loads((out / "report.json").read_text())
    [result] = report["results"]
    assert "failed" not in result, result.get("failed")
    assert result["profile"] == "tickets"
    assert result["connect"]["connected"] == 22  # the tenants, the agent, the caretaker
    assert result["transitions"]["made"] == 40
    for follower in ("tenants", "dashboard", "district"):
        audit = result["delivery"][follower]
        assert audit["expected"] > 0
        assert audit["received"] == audit["expected"], (follower, audit)
        counts = [audit[k] for k in ("lost", "duplicated", "reordered", "foreign")]
        assert counts == [0, 0, 0, 0], (follower, audit)
        assert audit["transition_delay"]["count"] > 0
    resume = result["resume"]
    assert len(resume["rounds"]) == 2 and resume["exact_rounds"] == 2, resume
    for one in resume["rounds"]:
        assert one["made"] == 40
        # Exactly the missed events: each step's event, once, in order.
        assert one["expected"] == one["received"] == 40, one
        missing, duplicated, foreign = one["missing"], one["duplicated"], one["foreign"]
        assert (missing, duplicated, foreign) == (0, 0, 0), one
        assert one["in_order"] and one["exact"] and one["closed"] is None, one

    markdown = (out / "report.md").read_text()
    assert "## tickets-20" in markdown
    assert "Resume: 40 missed events" in markdown
    assert "p99" in markdown.partition("Resume:")[2]
