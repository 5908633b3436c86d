"""``python -m loadtests``: run the benchmarks, write the report, profile the hub.

    python -m loadtests suite                     the default suite, under ~10 min
    python -m loadtests run --profile fanout --subscribers 1000 \\
        --rates 5,10,20,40 --duration 5 --servers hub,baseline,socketio,channels,node
    python -m loadtests run --profile idle --subscribers 10000 --servers hub
    python -m loadtests report loadtests/results/<timestamp>
    python -m loadtests profile --subscribers 1000 --rate 20
    python -m loadtests tickets --tenants 2000 --transitions 4000 --concurrency 16

Every run writes `loadtests/results/<timestamp>/` with report.md, report.json,
plots and the servers' logs.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from loadtests import report as reporting
from loadtests.runner import Runner, Scenario
from loadtests.servers import HUB_ENV_FOR_FANOUT, ROOT, SERVERS
from loadtests.worker import READERS

RESULTS = ROOT / "loadtests" / "results"
PUBLISHED = ROOT / "docs" / "benchmarks"
"""Where `--publish` copies a run's report: committed, so docs can cite it."""
DISTRICT_STATUS_EVERY = 10
DISTRICT_TICKET_RATE = 10.0
ALL_SERVERS = ",".join(name for name in SERVERS if not name.startswith("hub-"))
"""The default: the hub and its peers, not the hub's variants."""


def raise_open_files_limit() -> None:
    # 10,000 connections need 10,000 descriptors in the generator and as many
    # in the server; children inherit the raised limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def default_suite(servers: list[str]) -> list[Scenario]:
    python_light = [s for s in servers if s in ("hub", "baseline", "node")]
    return [
        Scenario("fanout-1000", "fanout", 1000, servers, rates=[5, 10, 20, 40]),
        Scenario(
            "fanout-5000", "fanout", 5000, python_light, rates=[2, 4], probe_rounds=100
        ),
        Scenario(
            "district-1000",
            "district",
            1000,
            [s for s in servers if s in ("hub", "baseline")],
            rates=[10, 20],
            status_every=DISTRICT_STATUS_EVERY,
            ticket_rate=DISTRICT_TICKET_RATE,
        ),
        Scenario("idle-10000", "idle", 10_000, servers, probe_rounds=200),
    ]


def execute(
    scenarios: list[Scenario],
    out: Path | None,
    pin: bool,
    measure: Callable[[Runner], list[dict[str, Any]]] | None = None,
    publish: Path | None = None,
) -> Path:
    """Run the scenarios (or `measure`, given the runner) and write the report."""
    raise_open_files_limit()
    out_dir = out or RESULTS / time.strftime("%Y%m%d-%H%M%S")
    runner = Runner(out_dir, pin=pin)
    report: dict[str, Any] = {
        "run_id": out_dir.name,
        "command": " ".join(["python -m loadtests", *sys.argv[1:]]),
        "machine": reporting.machine(),
        "versions": reporting.versions(),
        "cores": {
            "server": sorted(runner.cores.server or []),
            "generator": sorted(runner.cores.generator or []),
        },
        "hub_env": dict(HUB_ENV_FOR_FANOUT),
        "results": [],
    }
    started = time.monotonic()
    report["results"] = measure(runner) if measure else runner.run(scenarios)
    report["seconds"] = round(time.monotonic() - started, 1)
    files = reporting.write(out_dir, report)
    if publish is not None:
        files += reporting.publish(out_dir, publish)
    echo_paths(files)
    return out_dir


def echo_paths(paths: list[Path]) -> None:
    for path in paths:
        click.echo(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path))


publish_option = click.option(
    "--publish",
    "publish",
    type=click.Path(file_okay=False, path_type=Path),
    is_flag=False,
    flag_value=PUBLISHED,
    default=None,
    help="Also copy report.md, report.json and the plots to DIR/<run>/ "
    "(alone: docs/benchmarks/<run>/, committed, for the docs to cite).",
)


def parse_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def check_servers(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        raise click.BadParameter(
            f"unknown: {', '.join(unknown)} (known: {', '.join(SERVERS)})"
        )
    return names


@click.group()
def main() -> None:
    """Load tests of the Homi hub against its peers."""


@main.command()
@click.option("--servers", default=ALL_SERVERS, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Results folder.")
@click.option(
    "--pin/--no-pin",
    default=True,
    show_default=True,
    help="Server on core 0, generator and Redis on the others.",
)
@publish_option
def suite(servers: str, out: Path | None, pin: bool, publish: Path | None) -> None:
    """The default suite: fan-out at 1,000 and 5,000 subscribers, the district
    at 1,000, idle 10,000."""
    execute(
        default_suite(check_servers(parse_list(servers))), out, pin, publish=publish
    )


@main.command()
@click.option(
    "--profile",
    type=click.Choice(["fanout", "district", "idle"]),
    default="fanout",
    show_default=True,
    help="district: fan-out plus caretaker status changes and, on the hub, a "
    "stream of reports and transitions over REST.",
)
@click.option(
    "--status-every",
    type=click.IntRange(0),
    default=None,
    help="A status change after every N locations per caretaker "
    f"[default: {DISTRICT_STATUS_EVERY} for district, else 0].",
)
@click.option(
    "--ticket-rate",
    type=click.FloatRange(0),
    default=None,
    help="Reports and transitions per second during each step, hub only "
    f"[default: {DISTRICT_TICKET_RATE:g} for district, else 0].",
)
@click.option("--subscribers", default=1000, show_default=True, type=click.IntRange(1))
@click.option(
    "--rates",
    default="5,10,20,40",
    show_default=True,
    help="Messages per second published on the channel, one step each.",
)
@click.option("--duration", default=5.0, show_default=True, type=click.FloatRange(0.5))
@click.option("--drain", default=1.5, show_default=True, type=click.FloatRange(0.1))
@click.option("--publishers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--workers",
    default=0,
    show_default=True,
    help="Subscriber processes; 0 = one per generator core.",
)
@click.option("--servers", default=ALL_SERVERS, show_default=True)
@click.option(
    "--deflate", is_flag=True, help="Clients offer permessage-deflate, as browsers do."
)
@click.option("--probe-rounds", default=200, show_default=True)
@click.option(
    "--name", default="", help="Scenario name (default: profile-subscribers)."
)
@click.option(
    "--half-saturation/--no-half-saturation",
    default=True,
    show_default=True,
    help="After the steps, measure (or pick) the step at half the saturation rate.",
)
@click.option(
    "--readers",
    default="lean",
    show_default=True,
    help="The generator's receive paths, each server measured with each: "
    "lean (its own frame parser) and websockets (the library's reader, the old "
    "path), e.g. lean,websockets.",
)
@click.option("--out", type=click.Path(path_type=Path), help="Results folder.")
@click.option("--pin/--no-pin", default=True, show_default=True)
@publish_option
def run(
    profile: str,
    status_every: int | None,
    ticket_rate: float | None,
    subscribers: int,
    rates: str,
    duration: float,
    drain: float,
    publishers: int,
    workers: int,
    servers: str,
    deflate: bool,
    probe_rounds: int,
    name: str,
    half_saturation: bool,
    readers: str,
    out: Path | None,
    pin: bool,
    publish: Path | None,
) -> None:
    """One scenario on the chosen servers."""
    reader_names = parse_list(readers)
    unknown = [r for r in reader_names if r not in READERS]
    if unknown or not reader_names:
        raise click.BadParameter(f"readers: {readers!r} (known: {', '.join(READERS)})")
    district = profile == "district"
    scenario = Scenario(
        name=name or f"{profile}-{subscribers}{'-deflate' if deflate else ''}",
        profile=profile,
        subscribers=subscribers,
        servers=check_servers(parse_list(servers)),
        rates=[float(r) for r in parse_list(rates)] if profile != "idle" else [],
        duration=duration,
        drain=drain,
        publishers=publishers,
        workers=workers,
        probe_rounds=probe_rounds,
        deflate=deflate,
        half_saturation=half_saturation,
        readers=reader_names,
        status_every=status_every
        if status_every is not None
        else (DISTRICT_STATUS_EVERY if district else 0),
        ticket_rate=ticket_rate
        if ticket_rate is not None
        else (DISTRICT_TICKET_RATE if district else 0.0),
    )
    execute([scenario], out, pin, publish=publish)


@main.command("report")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@publish_option
def report_command(folder: Path, publish: Path | None) -> None:
    """Write report.md and the plots again from FOLDER/report.json."""
    files = reporting.write(folder, reporting.load(folder))
    if publish is not None:
        files += reporting.publish(folder, publish)
    echo_paths(files)


@main.command()
@click.option("--subscribers", default=1000, show_default=True)
@click.option("--rate", default=20.0, show_default=True, help="Messages per second.")
@click.option("--duration", default=10.0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Results folder.")
def profile(subscribers: int, rate: float, duration: float, out: Path | None) -> None:
    """Sample the hub with py-spy under a fan-out load; write profile.md."""
    from loadtests.profiling import profile_hub

    raise_open_files_limit()
    out_dir = out or RESULTS / (time.strftime("%Y%m%d-%H%M%S") + "-profile")
    path = profile_hub(out_dir, subscribers=subscribers, rate=rate, duration=duration)
    click.echo(str(path))


@main.command()
@click.option("--tenants", default=2000, show_default=True, type=click.IntRange(1))
@click.option(
    "--transitions",
    default=4000,
    show_default=True,
    type=click.IntRange(4),
    help="Transitions over REST: assign, accept, start, resolve per ticket.",
)
@click.option(
    "--concurrency",
    default=16,
    show_default=True,
    type=click.IntRange(1, 256),
    help="REST requests in flight.",
)
@click.option(
    "--resume-events",
    default=1000,
    show_default=True,
    type=click.IntRange(4),
    help="Events one tenant misses before it resumes.",
)
@click.option("--resume-rounds", default=10, show_default=True, type=click.IntRange(0))
@click.option(
    "--send-queue-frames",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="HUB_SEND_QUEUE_FRAMES for the hub; 0 keeps the hub's default.",
)
@click.option(
    "--servers",
    default="hub",
    show_default=True,
    help="The hub, or its variants on other websocket implementations (hub-*).",
)
@click.option("--out", type=click.Path(path_type=Path), help="Results folder.")
@click.option("--pin/--no-pin", default=True, show_default=True)
@publish_option
def tickets(
    tenants: int,
    transitions: int,
    concurrency: int,
    resume_events: int,
    resume_rounds: int,
    send_queue_frames: int,
    servers: str,
    out: Path | None,
    pin: bool,
    publish: Path | None,
) -> None:
    """Ticket transitions over REST, their events on the websocket, and resume."""
    from loadtests.tickets import TicketScenario, measure_tickets

    scenario = TicketScenario(
        name=f"tickets-{tenants}",
        tenants=tenants,
        transitions=transitions,
        concurrency=concurrency,
        resume_events=resume_events,
        resume_rounds=resume_rounds,
        send_queue_frames=send_queue_frames,
    )

    names = check_servers(parse_list(servers))
    if any(not SERVERS[name].is_hub for name in names):
        raise click.BadParameter("only the hub and its hub-* variants have tickets")

    def measure(runner: Runner) -> list[dict[str, Any]]:
        return [measure_tickets(runner.out_dir, scenario, pin, name) for name in names]

    execute([], out, pin, measure, publish=publish)


if __name__ == "__main__":
    main()
