"""The report of a run: `report.json` (everything), `report.md` (tables), PNG plots.

Absolute figures drift on a shared 2-core machine, so the tables lead with
ratios to the bare Starlette + redis baseline measured in the same run.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from loadtests.servers import NODE_PEER

PYTHON_PACKAGES = [
    "homi-hub",
    "starlette",
    "uvicorn",
    "uvloop",
    "websockets",
    "redis",
    "orjson",
    "python-socketio",
    "python-engineio",
    "channels",
    "channels-redis",
    "Django",
    "psutil",
    "tqdm",
    "matplotlib",
    "py-spy",
]


def machine() -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "system": platform.platform(),
        "python": sys.version.split()[0],
        "load_average_at_start": os.getloadavg(),
    }


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PYTHON_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    found["redis-server"] = _output(["redis-server", "--version"])
    found["node"] = _output(["node", "--version"])
    for package in ("socket.io", "@socket.io/redis-adapter", "redis"):
        manifest = NODE_PEER / "node_modules" / package / "package.json"
        key = f"npm:{package}"
        found[key] = (
            json.loads(manifest.read_text())["version"] if manifest.exists() else None
        )
    return found


def _output(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


def write(out_dir: Path, report: dict[str, Any]) -> list[Path]:
    """Write report.json, report.md and the plots; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / "report.json", out_dir / "report.md"]
    files[0].write_text(json.dumps(report, indent=2, default=str))
    plots = plot(out_dir, report)
    files[1].write_text(markdown(report, [p.name for p in plots]))
    return files + plots


def publish(out_dir: Path, docs_root: Path) -> list[Path]:
    """Copy a run's report (report.md, report.json, the plots) to
    `docs_root/<run id>/`, a committed folder the docs can cite; results/ is
    not committed, and the servers' logs stay there."""
    target = docs_root / out_dir.name
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in sorted(out_dir.iterdir()):
        if source.name in ("report.md", "report.json") or source.suffix == ".png":
            copied.append(Path(shutil.copy2(source, target / source.name)))
    return copied


# -- Markdown ---------------------------------------------------------------


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}x"


def _by_scenario(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        grouped.setdefault(result["scenario"], []).append(result)
    return grouped


def summary_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per server of one scenario: the headline figures and their ratios."""
    baselines = [r for r in results if r["server"] == "baseline"]
    rows = []
    for result in results:
        # Measured with the same generator reader, when there are several.
        base = next(
            (b for b in baselines if b.get("reader") == result.get("reader")),
            baselines[0] if baselines else None,
        )
        base_sat = (base or {}).get("saturation") or {}
        base_mem = ((base or {}).get("memory") or {}).get("idle_kib_per_connection")
        sat = result.get("saturation") or {}
        memory = result.get("memory") or {}
        probe = result.get("subscribe_probe") or {}
        rows.append(
            {
                "server": result["server"],
                "label": result["label"],
                "status": result.get("skipped") or result.get("failed") or "ok",
                "clean_rate": sat.get("rate"),
                "clean_deliveries_per_s": sat.get("delivered_per_s"),
                "lower_bound": sat.get("lower_bound"),
                "us_per_delivery": sat.get("server_us_per_delivery"),
                "us_ratio": _ratio(
                    sat.get("server_us_per_delivery"),
                    base_sat.get("server_us_per_delivery"),
                ),
                "rate_ratio": _ratio(
                    sat.get("delivered_per_s"), base_sat.get("delivered_per_s")
                ),
                "idle_kib": memory.get("idle_kib_per_connection"),
                "idle_ratio": _ratio(memory.get("idle_kib_per_connection"), base_mem),
                "busy_kib": memory.get("busy_kib_per_connection"),
                "subscribe_p99_ms": probe.get("p99_ms"),
            }
        )
    return rows


def markdown(report: dict[str, Any], plots: list[str]) -> str:
    lines = [f"# Load test {report['run_id']}", ""]
    m = report["machine"]
    lines += [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; "
        "load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}. "
        f"Cores: server {report['cores']['server']}, generator and Redis "
        f"{report['cores']['generator']}.",
        "",
        "Command: `" + report["command"] + "`",
        "",
    ]
    if any(r["profile"] != "tickets" for r in report["results"]):
        lines += [
            "Ratios are to the bare Starlette + redis.asyncio baseline of the same "
            "run. "
            "*Clean* means everything delivered, nothing duplicated or reordered, "
            "p99 under 100 ms; µs/delivery is the server process's CPU time over the "
            "deliveries of its highest clean step. A rate marked ≥ was clean at the "
            "highest rate offered: the server may hold more. *Busy KiB/conn* is the "
            "server's peak RSS during the steps, less its RSS before connecting, "
            "over the connections. *Server starved* is the "
            "share of the step the server was runnable but waiting for a core (other "
            "load on a shared machine): where it is high, latency is the machine's.",
            "",
        ]
    for scenario, results in _by_scenario(report["results"]).items():
        first = results[0]
        lines += [f"## {scenario}", ""]
        if first["profile"] == "tickets":
            for result in results:
                if len(results) > 1:
                    lines += [f"### {result['label']}", ""]
                lines += ticket_lines(result)
            continue
        settings = first["settings"]
        lines += [
            f"{first['profile']} profile, {first['subscribers']:,} subscribers on one "
            f"channel, {settings['publishers']} publishers, steps of "
            f"{settings['duration']:g} s (+{settings['drain']:g} s drain)"
            + (", clients offer permessage-deflate" if settings.get("deflate") else "")
            + ".",
            "",
        ]
        lines += [
            "| server | clean msgs/s | clean deliveries/s | x base "
            "| µs/delivery | x base "
            "| idle KiB/conn | x base | busy KiB/conn | subscribe p99 | status |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for row in summary_rows(results):
            bound = "≥ " if row["lower_bound"] else ""
            lines.append(
                f"| {row['label']} | {bound}{_num(row['clean_rate'], 0)} "
                f"| {bound}{_num(row['clean_deliveries_per_s'], 0)} "
                f"| {row['rate_ratio']} "
                f"| {_num(row['us_per_delivery'])} | {row['us_ratio']} "
                f"| {_num(row['idle_kib'])} | {row['idle_ratio']} "
                f"| {_num(row['busy_kib'])} "
                f"| {_num(row['subscribe_p99_ms'], 2)} ms | {row['status']} |"
            )
        lines.append("")
        lines += half_saturation_lines(results)
        for result in results:
            if result.get("steps"):
                lines += step_table(result)
        lines += [
            f"![{scenario}]({name})" for name in plots if name.startswith(scenario)
        ]
        lines.append("")
    return "\n".join(lines)


def half_saturation_lines(results: list[dict[str, Any]]) -> list[str]:
    """The target at half the saturation rate: p99 under 50 ms, nothing lost,
    duplicated or reordered."""
    runs = [r for r in results if "half_saturation" in r]
    if not runs:
        return []
    lines = [
        "At half the saturation rate (target: p99 under 50 ms, nothing lost, "
        "duplicated or reordered). A saturation rate marked ≥ was clean at the "
        "highest rate offered, so its half is at most the true half.",
        "",
        "| server | saturation msgs/s | half msgs/s | measured in | p50 ms "
        "| p99 ms | lost | dup | reord | server starved | load | verdict |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in runs:
        half = result["half_saturation"]
        if half is None:
            lines.append(
                f"| {result['label']} | none | - | - | - | - | - | - | - | - | - "
                "| no clean step, so no saturation point |"
            )
            continue
        bound = "≥ " if half["saturation_lower_bound"] else ""
        verdict = "met" if half["met"] else "**not met**"
        lines.append(
            f"| {result['label']} | {bound}{half['saturation_rate']:g} "
            f"| {half['rate']:g} | {half['measured_in']} "
            f"| {_num(half['p50_ms'], 2)} | {_num(half['p99_ms'], 2)} "
            f"| {half['lost']:,} | {half['duplicated']:,} | {half['reordered']:,} "
            f"| {_pct(half.get('server_wait_share'))} "
            f"| {_num(half.get('load_average'))} | {verdict} |"
        )
    lines.append("")
    return lines


def step_table(result: dict[str, Any]) -> list[str]:
    lines = [
        f"### {result['label']} ({result['scenario']})",
        "",
        "| msgs/s | offered deliv/s | delivered/s | p50 ms | p95 ms | p99 ms | max ms "
        "| lost | dup | reord | server CPU | µs/deliv | Redis µs/deliv | generator "
        "| generator µs/deliv | server starved | load | bottleneck |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        "---:|---|",
    ]
    for step in result["steps"]:
        if "skipped" in step:
            lines.append(
                f"| {step['rate']:g} | not run: {step['skipped']} ||||||||||||||||"
            )
            continue
        lat = step["latency"]
        generator = max(step["generator_cpu_share"].values())
        if step["generator_bound"]:
            bottleneck = "generator"
        elif step["server_bound"]:
            bottleneck = "server"
        else:
            bottleneck = "-"
        if step["clean"]:
            bottleneck += " (clean)"
        lines.append(
            f"| {step['rate']:g} | {step['offered_deliveries_per_s']:,.0f} "
            f"| {step['delivered_per_s']:,.0f} | {_num(lat['p50_ms'], 2)} "
            f"| {_num(lat['p95_ms'], 2)} | {_num(lat['p99_ms'], 2)} "
            f"| {_num(lat['max_ms'], 1)} "
            f"| {step['lost']:,} | {step['duplicated']:,} | {step['reordered']:,} "
            f"| {step['server_cpu_share']:.0%} "
            f"| {_num(step['server_us_per_delivery'])} "
            f"| {_num(step['redis_us_per_delivery'])} | {generator:.0%} "
            f"| {_num(step.get('generator_us_per_delivery'))} "
            f"| {_pct(step.get('server_wait_share'))} "
            f"| {_num(step.get('load_average'))} "
            f"| {bottleneck} |"
        )
    lines.append("")
    return lines + district_lines(result)


def district_lines(result: dict[str, Any]) -> list[str]:
    """What the district profile played beside the locations, per step."""
    steps = [
        s
        for s in result["steps"]
        if "skipped" not in s and (s.get("statuses_sent") or s.get("tickets"))
    ]
    if not steps:
        return []
    lines = [
        "Beside the locations: caretaker status changes (sent, and received over "
        "all subscribers, where every subscriber should get each one) and, on "
        "the hub, reports and transitions over REST:",
        "",
        "| msgs/s | statuses sent | received | expected | REST steps | refused "
        "| REST p50 ms | REST p99 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step in steps:
        tickets = step.get("tickets") or {}
        rest = tickets.get("rest") or {}
        expected = step["statuses_sent"] * result["connect"]["connected"]
        lines.append(
            f"| {step['rate']:g} | {step['statuses_sent']:,} "
            f"| {step['status_frames_received']:,} | {expected:,} "
            f"| {_num(tickets.get('made'))} | {_num(tickets.get('refused'))} "
            f"| {_num(rest.get('p50_ms'), 2)} | {_num(rest.get('p99_ms'), 2)} |"
        )
    lines.append("")
    return lines


def ticket_lines(result: dict[str, Any]) -> list[str]:
    """The ticket benchmark (`loadtests.tickets`): rates, delays, audit, resume."""
    settings = result["settings"]
    lines = [
        f"{result['label']}, {settings['tenants']:,} tenants each on `tickets:mine`, "
        "an agent on `dashboard`, the caretaker on `tickets:district:<d>`; "
        f"{settings['concurrency']} REST requests in flight.",
        "",
    ]
    if "failed" in result:
        return [*lines, f"Failed: {result['failed']}", ""]
    connect = result["connect"]
    lines += [
        f"Connected {connect['connected']:,} in {connect['seconds']:.1f} s "
        f"({connect['failed']} failed).",
        "",
        "| phase | steps | steps/s | server CPU | µs/step (server) | µs/step (Redis) "
        "| generator CPU | server starved | load | drained | bottleneck |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name in ("report", "transitions"):
        phase = result[name]
        share = phase["cpu_share"]
        lines.append(
            f"| {name} | {phase['made']:,} | {_num(phase['per_s'])} "
            f"| {_pct(share['server'])} | {_num(phase['server_us_per_step'])} "
            f"| {_num(phase['redis_us_per_step'])} | {_pct(share['generator'])} "
            f"| {_pct(phase['server_starved'])} | {_num(phase['load_average'])} "
            f"| {'yes' if phase['drained'] else 'no'} "
            f"| {phase.get('bottleneck', '-')} |"
        )
    lines += [
        "",
        "*Generator CPU* is this process (REST client and every websocket); it "
        "shares its core with Redis, so *generator* as the bottleneck means the "
        "rate is the generator's, not the hub's.",
        "",
        "Delay from sending the REST request to the event on the follower's "
        "websocket, ms; audit of every event each follower should have had:",
        "",
        "| follower | event | p50 | p95 | p99 | max | expected | lost | dup "
        "| reord | foreign | closed |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for group, audit in result["delivery"].items():
        for kind in ("report", "transition"):
            delay = audit[f"{kind}_delay"]
            fields = (
                "expected",
                "lost",
                "duplicated",
                "reordered",
                "foreign",
                "closed",
            )
            counts = "".join(
                f"| {audit[f]:,} " if kind == "report" else "| " for f in fields
            )
            lines.append(
                f"| {group} | {kind} | {_num(delay['p50_ms'], 2)} "
                f"| {_num(delay['p95_ms'], 2)} | {_num(delay['p99_ms'], 2)} "
                f"| {_num(delay['max_ms'], 1)} {counts}|"
            )
    rest = result.get("rest") or {}
    refused = rest.get("refused") or "none"
    lines += [
        "",
        f"REST answers: p50 {_num(rest.get('p50_ms'), 2)} ms, "
        f"p99 {_num(rest.get('p99_ms'), 2)} ms; refused: {refused}.",
        "",
    ]
    resume = result["resume"]
    lines += [
        f"Resume: {settings['resume_events']:,} missed events, "
        f"{len(resume['rounds'])} rounds, {resume['exact_rounds']} exact "
        "(every missed event once, in order, nothing else). "
        f"Subscribe → all events (exact rounds): "
        f"p50 {_num(resume['all_events']['p50_ms'])} ms, "
        f"p95 {_num(resume['all_events']['p95_ms'])} ms, "
        f"p99 {_num(resume['all_events']['p99_ms'])} ms, "
        f"max {_num(resume['all_events']['max_ms'])} ms; "
        f"{_under(resume['rounds'], RESUME_TARGET_MS)} of {len(resume['rounds'])} "
        f"rounds exact and under {RESUME_TARGET_MS:g} ms; "
        f"server CPU per round: p50 {_num(_median(resume['rounds']))} ms; "
        f"subscribe → `subscribed`: p50 {_num(resume['subscribed']['p50_ms'])} ms.",
        "",
        "| round | missed | received | missing | dup | foreign | in order | closed "
        "| subscribed ms | all events ms | server CPU ms |",
        "|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for number, one in enumerate(resume["rounds"], 1):
        lines.append(
            f"| {number} | {one['expected']:,} | {one['received']:,} "
            f"| {one['missing']:,} | {one['duplicated']:,} | {one['foreign']:,} "
            f"| {'yes' if one['in_order'] else 'no'} | {one['closed'] or '-'} "
            f"| {_num(one['subscribed_ms'])} | {_num(one['all_events_ms'])} "
            f"| {_num(one['server_cpu_ms'])} |"
        )
    lines.append("")
    return lines


RESUME_TARGET_MS = 100.0


def _median(rounds: list[dict[str, Any]]) -> float | None:
    values = sorted(
        one["server_cpu_ms"] for one in rounds if one["server_cpu_ms"] is not None
    )
    return values[len(values) // 2] if values else None


def _under(rounds: list[dict[str, Any]], limit_ms: float) -> int:
    return sum(
        1
        for one in rounds
        if one["exact"]
        and one["all_events_ms"] is not None
        and one["all_events_ms"] < limit_ms
    )


# -- plots ------------------------------------------------------------------


def plot(out_dir: Path, report: dict[str, Any]) -> list[Path]:
    """p99 latency against offered load, one line per server, saturation marked."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    for scenario, results in _by_scenario(report["results"]).items():
        runs = [r for r in results if r.get("steps")]
        if not runs:
            continue
        figure, axes = plt.subplots(figsize=(8, 5))
        for result in runs:
            steps = [
                s
                for s in result["steps"]
                if "skipped" not in s and s["latency"]["p99_ms"]
            ]
            if not steps:
                continue
            xs = [s["offered_deliveries_per_s"] for s in steps]
            ys = [s["latency"]["p99_ms"] for s in steps]
            (line,) = axes.plot(xs, ys, marker="o", label=result["label"])
            sat = result.get("saturation")
            if sat:
                axes.plot(
                    [sat["offered_deliveries_per_s"]],
                    [sat["p99_ms"]],
                    marker="*",
                    markersize=18,
                    color=line.get_color(),
                    markeredgecolor="black",
                )
        axes.axhline(100, color="grey", linestyle="--", linewidth=1)
        axes.text(axes.get_xlim()[0], 100, " 100 ms", va="bottom", color="grey")
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("offered deliveries per second (messages/s x subscribers)")
        axes.set_ylabel("p99 latency, ms")
        axes.set_title(f"{scenario}: p99 latency against load (★ = saturation point)")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        path = out_dir / f"{scenario}-p99.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written


def load(out_dir: Path) -> dict[str, Any]:
    return json.loads((out_dir / "report.json").read_text())  # type: ignore[no-any-return]
