"""`homi-hub demo` end to end, and the pure decisions its actors make.

The end-to-end tests run the real command as a subprocess with no `REDIS_URL`,
so it starts its own embedded Redis in a temporary data folder, and check what
a person would: the printed logins work, the pages and the real districts are
served, the demo stops with status 0 (after `--duration` and on SIGTERM),
leaves no `redis-server` behind, and a second run finds the first run's
tickets.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from hub.demo import plans
from hub.demo.complaints import MAPPING
from hub.demo.directory import build_demo_directory
from hub.redis_server import free_port
from tests.conftest import TIMEOUT

ROTTERDAM_DISTRICTS = {
    "Rotterdam Centrum", "Delfshaven", "Overschie", "Noord",
    "Hillegersberg-Schiebroek", "Kralingen-Crooswijk", "Feijenoord", "IJsselmonde",
    "Pernis", "Prins Alexander", "Charlois", "Hoogvliet", "Hoek van Holland",
    "Rozenburg",
}  # fmt: skip

LOGIN_LINE = re.compile(
    r"^\s+(tenant|caretaker|agent)\s+(\S+)\s+password\s+(\S+)", re.M
)


# -- the command ---------------------------------------------------------------


class Demo:
    """`homi-hub demo` in a subprocess, its output in files (never a pipe that
    could fill and block it)."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env["HUB_DATA_DIR"] = str(data_dir)
        self.out = data_dir.parent / f"demo-{self.port}.out"
        self.err = data_dir.parent / f"demo-{self.port}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "demo", "--port", str(self.port),
                 *args],
                env=env, stdout=out, stderr=err,
            )  # fmt: skip

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def wait_live(self) -> dict[str, tuple[str, str]]:
        """Wait for the banner; return the printed logins by role (the first each)."""
        until(
            lambda: "dashboard" in self.output() or self.process.poll() is not None,
            TIMEOUT * 6,
            "the demo's banner",
        )
        assert self.process.poll() is None, self.stderr()
        logins: dict[str, tuple[str, str]] = {}
        for role, user, password in LOGIN_LINE.findall(self.output()):
            logins.setdefault(role, (user, password))
        return logins

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"the demo did not stop in time:\n{self.stderr()}"
            ) from None

    def token(self, http: httpx.Client, login: tuple[str, str]) -> str:
        response = http.post(
            "/api/login", json={"username": login[0], "password": login[1]}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["token"])


def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def embedded_redis_under(folder: Path) -> list[int]:
    """Pids of redis-server processes whose data folder lies under `folder`.

    Redis rewrites its command line into a process title ("redis-server
    127.0.0.1:port"), so `--dir` cannot be read back from it; but Redis
    changes into its `--dir` at start, so its working directory is that folder.
    """
    found = []
    for process in psutil.process_iter(["name", "cwd"]):
        if process.info["name"] != "redis-server" or not process.info["cwd"]:
            continue
        if Path(process.info["cwd"]).resolve().is_relative_to(folder.resolve()):
            found.append(process.pid)
    return found


@pytest.fixture
def demos(tmp_path: Path) -> Iterator[Callable[..., Demo]]:
    """Start demos in one data folder; whatever happens, none outlives the test."""
    folder = tmp_path / "data"
    started: list[Demo] = []

    def start(*args: str) -> Demo:
        demo = Demo(folder, *args)
        started.append(demo)
        return demo

    yield start
    for demo in started:
        if demo.process.poll() is None:
            demo.process.kill()
            demo.process.wait()
    for pid in embedded_redis_under(folder):
        psutil.Process(pid).kill()


def test_demo_serves_real_districts_stops_cleanly_and_keeps_tickets(
    demos: Callable[..., Demo],
) -> None:
    demo = demos("--duration", "8")
    logins = demo.wait_live()
    assert {"tenant", "caretaker", "agent"} <= logins.keys(), demo.output()
    assert embedded_redis_under(demo.data_dir), "no embedded Redis in the data folder"

    with httpx.Client(base_url=demo.url, timeout=TIMEOUT) as http:
        assert http.get("/tenant").status_code == 200
        auth = {"Authorization": f"Bearer {demo.token(http, logins['agent'])}"}
        districts = http.get("/api/districts", headers=auth).json()["districts"]
        assert {d["name"] for d in districts} == ROTTERDAM_DISTRICTS

        # The printed tenant's caretaker is out walking; the tenant's own
        # page is left alone by the demo's actors.
        tenant = {"Authorization": f"Bearer {demo.token(http, logins['tenant'])}"}
        district_id = http.get("/api/me", headers=tenant).json()["user"]["districts"][0]

        def caretaker_walking() -> bool:
            district = http.get(f"/api/districts/{district_id}", headers=auth).json()
            presence = district["caretakers"][0]["presence"]
            return bool(presence["on_duty"] and presence["location"])

        until(caretaker_walking, TIMEOUT * 2, "the printed tenant's caretaker")
        assert http.get("/api/tickets", headers=tenant).json()["tickets"] == []

        tickets = until(
            lambda: http.get("/api/tickets", headers=auth).json()["tickets"],
            TIMEOUT * 2,
            "a demo report",
        )
        first_run_ticket = tickets[0]["id"]

    assert demo.wait_exit(8 + TIMEOUT * 4) == 0, demo.stderr()
    assert "Traceback" not in demo.stderr()
    assert "Demo stopped" in demo.output()
    assert embedded_redis_under(demo.data_dir) == []

    again = demos("--duration", "1")
    logins = again.wait_live()
    with httpx.Client(base_url=again.url, timeout=TIMEOUT) as http:
        auth = {"Authorization": f"Bearer {again.token(http, logins['agent'])}"}
        response = http.get(f"/api/tickets/{first_run_ticket}", headers=auth)
        assert response.status_code == 200, response.text
    assert again.wait_exit(TIMEOUT * 4) == 0, again.stderr()
    assert embedded_redis_under(demo.data_dir) == []


def test_sigterm_stops_the_demo_with_status_zero(demos: Callable[..., Demo]) -> None:
    demo = demos()
    demo.wait_live()
    until(lambda: embedded_redis_under(demo.data_dir), TIMEOUT, "the embedded Redis")

    demo.process.send_signal(signal.SIGTERM)

    assert demo.wait_exit(TIMEOUT * 2) == 0, demo.stderr()
    assert "Traceback" not in demo.stderr()
    assert embedded_redis_under(demo.data_dir) == []


# -- what the actors decide ----------------------------------------------------


def test_a_dripping_tap_gets_self_help_advice() -> None:
    decision = plans.triage("leak", "De kraan blijft druppen, ook als hij dicht is.")
    assert decision.action == "advise"
    assert "kraanleertje" in decision.note


def test_advice_that_did_not_help_goes_to_the_caretaker() -> None:
    decision = plans.triage(
        "leak", "De kraan blijft druppen, ook als hij dicht is.", advised_before=True
    )
    assert decision.action == "assign"


@pytest.mark.parametrize(
    ("category", "text", "severity"),
    [
        (
            "leak",
            "Er loopt veel water door het plafond, het komt van boven.",
            "emergency",
        ),
        ("electrics", "Ik ruik een brandlucht bij de meterkast.", "emergency"),
        (
            "heating",
            "De verwarming blijft koud, ook met de thermostaat hoger.",
            "urgent",
        ),
        ("doors_locks", "Het slot draait door, de sleutel pakt niet meer.", "urgent"),
        ("nuisance", "Harde muziek bij de buren tot diep in de nacht.", "normal"),
    ],
)
def test_assigned_reports_get_a_severity_after_the_response_norms(
    category: str, text: str, severity: str
) -> None:
    decision = plans.triage(category, text)
    assert (decision.action, decision.severity) == ("assign", severity)


def test_every_demo_report_gets_a_decision_and_all_outcomes_occur() -> None:
    outcomes = set()
    for mapping in MAPPING.values():
        for _, text in mapping.reports:
            decision = plans.triage(mapping.category, text)
            assert decision.note
            outcomes.add(decision.severity if decision.action == "assign" else "advise")
    assert outcomes == {"advise", "emergency", "urgent", "normal"}


def test_shifts_alternate_work_with_breaks_and_featured_never_go_off() -> None:
    phases = list(islice(plans.shift_plan("w3001", "work", may_go_off=False), 40))
    assert [p.kind for p in phases[::2]] == ["work"] * 20
    assert {p.kind for p in phases[1::2]} == {"break"}

    anyone = [p.kind for p in islice(plans.shift_plan("w3010", "off"), 200)]
    assert anyone[0] == "off" and {"work", "break", "off"} == set(anyone)
    assert all(p.seconds > 0 for p in islice(plans.shift_plan("w3010", "work"), 50))


def test_most_caretakers_start_at_work_and_featured_ones_always_do() -> None:
    ids = [f"w{3000 + n}" for n in range(1, 14)]
    starts = plans.first_phases(ids, featured={"w3001", "w3005"})
    assert starts["w3001"] == starts["w3005"] == "work"
    kinds = list(starts.values())
    assert kinds.count("work") > len(ids) / 2
    assert "break" in kinds and "off" in kinds


def test_printed_logins_are_never_demo_actors() -> None:
    directory = build_demo_directory()
    logins = plans.choose_logins(
        directory["tenants"], directory["caretakers"], directory["agents"]
    )
    districts = {t["district"] for t in directory["tenants"]}
    assert len(logins.reserved_tenants) == len(districts)
    assert {tenant for tenant, _ in logins.tenants} <= logins.reserved_tenants
    # The caretaker left to a person is not the one the printed tenants watch.
    assert logins.caretaker_district not in {d for _, d in logins.tenants}
    assert logins.agent != directory["agents"][1]["id"]


def test_progress_line_leaves_out_empty_statuses() -> None:
    line = plans.progress_line(65, 13, 10, 2, 1, 7, {"submitted": 3, "closed": 0})
    assert line.strip().startswith("1:05")
    assert "new 3" in line and "closed" not in line
    assert "reports 7" in line
