"""Where the hub's fan-out time goes: py-spy samples under a steady load.

`profile_hub` runs the fan-out profile on the hub alone at one rate, with
py-spy sampling the server process for the whole step (``--nonblocking``,
so the hub is never paused), and writes the collapsed stacks
(`hub-stacks.txt`) and `profile.md`: the functions where the samples end
(self time) and the hub's own functions with everything they call
(inclusive time), as shares of all samples.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from loadtests.runner import Runner, Scenario

SAMPLE_RATE = 250


def profile_hub(
    out_dir: Path, *, subscribers: int, rate: float, duration: float
) -> Path:
    py_spy = shutil.which("py-spy") or shutil.which(
        "py-spy", path=str(Path(sys.executable).parent)
    )
    if py_spy is None:
        raise SystemExit("py-spy is not installed (pip install -e '.[bench]')")
    out_dir.mkdir(parents=True, exist_ok=True)
    stacks = out_dir / "hub-stacks.txt"

    def sample(pid: int, seconds: float) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                str(SAMPLE_RATE),
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(stacks),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    runner = Runner(out_dir)
    runner.sampler = sample
    scenario = Scenario(
        f"profile-{subscribers}",
        "fanout",
        subscribers,
        ["hub"],
        rates=[rate],
        duration=duration,
        probe_rounds=10,
        half_saturation=False,  # one step, one profile
    )
    [result] = runner.run([scenario])
    step = (result.get("steps") or [{}])[0]
    path = out_dir / "profile.md"
    path.write_text(summarise(stacks, subscribers, rate, step))
    return path


def read_stacks(path: Path) -> list[tuple[list[str], int]]:
    """Collapsed stacks: ``frame;frame;frame count`` per line, root first."""
    stacks = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames:
            stacks.append((frames.split(";"), int(count)))
    return stacks


def short(frame: str) -> str:
    """``send (starlette/websockets.py:97)`` -> ``starlette/websockets.py:send``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{where.rsplit(':', 1)[0]}:{name}"


def _shares(shares: dict[str, float] | None) -> str:
    return ", ".join(f"{name} {share:.0%}" for name, share in (shares or {}).items())


def _fmt(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def summarise(path: Path, subscribers: int, rate: float, step: dict[str, Any]) -> str:
    stacks = read_stacks(path) if path.exists() else []
    total = sum(count for _, count in stacks) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        own[short(frames[-1])] += count
        for name in {short(f) for f in frames}:
            inclusive[name] += count
    lines = [
        f"# Hub fan-out profile: {subscribers} subscribers, {rate:g} messages/s",
        "",
        f"{total} samples at {SAMPLE_RATE} Hz (py-spy, --nonblocking, idle "
        "time excluded "
        "unless the loop was waiting in epoll). Step figures: "
        f"µs/delivery {_fmt(step.get('server_us_per_delivery'))}, server CPU "
        f"{_fmt(step.get('server_cpu_share'))}, generator CPU "
        f"{_shares(step.get('generator_cpu_share'))}, "
        f"latency {step.get('latency')}, lost {step.get('lost')}.",
        "",
        "## Self time (where the samples end)",
        "",
        "| share | function |",
        "|---:|---|",
    ]
    lines += [
        f"| {count / total:.1%} | `{name}` |" for name, count in own.most_common(30)
    ]
    lines += [
        "",
        "## Inclusive time of the hub's and the server stack's functions",
        "",
        "| share | function |",
        "|---:|---|",
    ]
    ours = [
        (n, c)
        for n, c in inclusive.most_common()
        if n.startswith(("hub/", "uvicorn/", "starlette/", "websockets/", "redis/"))
    ]
    lines += [f"| {count / total:.1%} | `{name}` |" for name, count in ours[:40]]
    return "\n".join(lines) + "\n"
