"""Run `irc_fanout.py` against our ircd, ngircd and InspIRCd in one go and compare them.

Each server gets a generated configuration in a temporary directory: loopback only, a free
port, flood control off, large recvq/sendq, no connection limit per IP, no DNS or ident
lookups. Each runs in the foreground (no daemon) and is killed by PID at the end, also
on failure or Ctrl-C. Then the benchmark runs against each in turn, `--runs` times, and a
side-by-side table prints the median of each figure, its spread (min-max) and our ratio
to the others.

Fairness on a 2-core machine: every server here is single-threaded, so the server is
pinned to one core and the load generator (a separate process) to the other with
`taskset`, unless `--no-pin`. The generator prints how busy its core was; servers' CPU
time is read from /proc, so the figures per delivery do not depend on the generator.

    apt-get install -y ngircd inspircd
    .venv/bin/python bench/run_irc_bench.py [--runs 3] [--servers ours,ngircd,inspircd]
    .venv/bin/python bench/run_irc_bench.py --loads windowed,burst   # issue 9's two loads

`--loads` measures named loads in one session, interleaved (run 1: each load on each
server, then run 2, ...), and ends with one table per load and the verdict of issue 9:
ours at or below the best peer under every load.

`--client-python` picks the interpreter of the generator (one with uvloop is cheaper).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.ports import free_port  # noqa: E402

FANOUT = HERE / "irc_fanout.py"
SERVER_CPU = "1"  # the core the server runs on; the generator takes core 0
CLIENT_CPU = "0"
MAX_CLIENTS = 50_000
SENDQ = 16 * 1024 * 1024

# Targets from issue 3, for our server only.
TARGET_CPU_US = 1.0
TARGET_RSS_KIB = 8.0
TARGET_REG_PER_S = 2000.0


@dataclass
class ServerSpec:
    """How to start one server: a command, given its work directory and port."""

    name: str
    make_command: Callable[[Path, int], list[str]]
    available: Callable[[], str | None]  # None when it can run, else why not


def _ours(tmp: Path, port: int, python: str, uvloop: bool) -> list[str]:
    config = tmp / "irc.yaml"
    config.write_text(
        "irc:\n"
        f"  listen:\n    - {{host: 127.0.0.1, port: {port}}}\n"
        "  server_name: irc.ours.test\n"
        "  motd: benchmark\n"
        "  limits:\n"
        "    flood_rate: 0\n"
        "    max_per_address: 0\n"  # every benchmark client comes from 127.0.0.1
        f"    max_clients: {MAX_CLIENTS}\n"
        f"    max_unregistered: {MAX_CLIENTS}\n"  # registrations in flight: --reg-concurrency
        f"    sendq: {SENDQ}\n"
        "    recvq: 1048576\n",
        encoding="utf-8",
    )
    if not uvloop:
        return [python, "-m", "ircd", "--config", str(config)]
    # ircd's __main__ runs asyncio.run() on the default loop; this variant shows what
    # installing the uvloop policy first would change (same code otherwise). At 8ea00b5 it
    # drops every connection: net.py asserts isinstance(transport, asyncio.Transport),
    # which uvloop's transports are not.
    code = (
        "import asyncio, sys, uvloop; asyncio.set_event_loop_policy(uvloop.EventLoopPolicy());"
        "from ircd.__main__ import main; sys.exit(main(sys.argv[1:]))"
    )
    return [python, "-c", code, "--config", str(config)]


def _ngircd(tmp: Path, port: int) -> list[str]:
    (tmp / "motd").write_text("benchmark\n", encoding="utf-8")
    config = tmp / "ngircd.conf"
    config.write_text(
        f"""[Global]
Name = irc.ngircd.test
Info = benchmark
Listen = 127.0.0.1
Ports = {port}
MotdFile = {tmp / "motd"}
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
PingTimeout = 600
PongTimeout = 600
# 0 turns penalties (ngircd's flood control) off.
MaxPenaltyTime = 0
[Options]
DNS = no
Ident = no
PAM = no
""",
        encoding="utf-8",
    )
    return ["/usr/sbin/ngircd", "--nodaemon", "--config", str(config)]


def _inspircd(tmp: Path, port: int) -> list[str]:
    (tmp / "motd").write_text("benchmark\n", encoding="utf-8")
    config = tmp / "inspircd.conf"
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    config.write_text(
        f"""<server name="irc.inspircd.test" description="benchmark" network="Bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="{port}" type="clients">
<connect allow="*" timeout="60" pingfreq="600" threshold="1000000" commandrate="1000000000"
 fakelag="no" hardsendq="{SENDQ}" softsendq="{SENDQ}" recvq="1048576"
 localmax="{MAX_CLIENTS}" globalmax="{MAX_CLIENTS}" maxconnwarn="no"
 resolvehostnames="no" useident="no" limit="{MAX_CLIENTS}">
<files motd="{tmp / "motd"}">
<channels users="20" opers="60">
<dns server="127.0.0.1" timeout="1">
<pid file="{tmp / "inspircd.pid"}">
<options syntaxhints="no" announcets="yes">
<security hideserver="" userstats="Pu" maxtargets="20">
<performance softlimit="{soft - 100}" somaxconn="4096" clonesonconnect="no" nouserdns="yes">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{tmp / "log"}">
""",
        encoding="utf-8",
    )
    return ["/usr/sbin/inspircd", "--config", str(config), "--nofork", "--nopid", "--runasroot"]


def _need(path: str) -> Callable[[], str | None]:
    return lambda: None if os.access(path, os.X_OK) else f"{path} not found"


def _need_module(python: str, module: str, cwd: Path) -> Callable[[], str | None]:
    def check() -> str | None:
        probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True, cwd=cwd)
        return None if probe.returncode == 0 else f"{python} cannot import {module}"

    return check


def server_specs(args: argparse.Namespace) -> dict[str, ServerSpec]:
    py = args.server_python
    return {
        "ours": ServerSpec(
            "ours", lambda t, p: _ours(t, p, py, False), _need_module(py, "ircd", args.ours_root)
        ),
        "ours-uvloop": ServerSpec(
            "ours-uvloop",
            lambda t, p: _ours(t, p, py, True),
            _need_module(py, "uvloop", args.ours_root),
        ),
        "ngircd": ServerSpec("ngircd", _ngircd, _need("/usr/sbin/ngircd")),
        "inspircd": ServerSpec("inspircd", _inspircd, _need("/usr/sbin/inspircd")),
    }


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)  # a process we cannot await: poll its port
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate by PID, then kill if it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def running(spec: ServerSpec, pin: bool, cwd: Path) -> Iterator[tuple[int, int, Path]]:
    """Start `spec` in `cwd` on a free port; yield (pid, port, work dir); always kill it."""
    with tempfile.TemporaryDirectory(prefix=f"ircbench-{spec.name}-") as tmp:
        port = free_port()
        command = spec.make_command(Path(tmp), port)
        if pin:
            command = ["taskset", "-c", SERVER_CPU, *command]  # taskset execs: same PID
        with open(Path(tmp) / "server.log", "wb") as log:
            proc = subprocess.Popen(
                command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        try:
            try:
                wait_listening(port, proc)
            except RuntimeError as e:
                tail = (Path(tmp) / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{spec.name}: {e}\n{tail}") from None
            yield proc.pid, port, Path(tmp)
        finally:
            stop(proc)


def parse_concurrency(text: str) -> Callable[[str], int]:
    """ "10,inspircd=1000" -> a lookup giving 1000 for inspircd and 10 for any other."""
    default, overrides = 10, {}
    for item in text.split(","):
        name, eq, value = item.partition("=")
        if eq:
            overrides[name.strip()] = int(value)
        else:
            default = int(name)
    return lambda server: overrides.get(server, default)


@dataclass(frozen=True)
class Load:
    """Clients in the channel and messages in flight: what makes one load."""

    name: str
    clients: int
    window: int


#: Issue 9's two loads: a steady window where each pass carries a few messages, and a
#: burst where the senders run far ahead of the readers.
LOADS = {"windowed": Load("windowed", 200, 50), "burst": Load("burst", 500, 10_000)}


def run_fanout(
    args: argparse.Namespace, pid: int, port: int, concurrency: int, load: Load
) -> dict[str, object]:
    command = [
        args.client_python,
        str(FANOUT),
        f"--port={port}",
        f"--pid={pid}",
        f"--clients={load.clients}",
        f"--senders={args.senders}",
        f"--messages={args.messages}",
        f"--window={load.window}",
        f"--idle={args.idle}",
        f"--reg-concurrency={concurrency}",
    ]
    if args.pin:
        command = ["taskset", "-c", CLIENT_CPU, *command]
    proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=900)
    result: dict[str, object] | None = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        else:
            print("    " + line, flush=True)
    if proc.returncode != 0 or result is None:
        raise RuntimeError(f"irc_fanout.py failed with status {proc.returncode}")
    return result


# (key in the result, label, format, phase that measures it)
ROWS = (
    ("server_cpu_us_per_delivery", "server CPU per delivery (us)", "{:.3f}", "fanout"),
    ("server_utime_s", "  of which user (s)", "{:.2f}", "fanout"),
    ("server_stime_s", "  of which system (s)", "{:.2f}", "fanout"),
    ("deliveries_per_s", "deliveries per second", "{:,.0f}", "fanout"),
    ("server_load", "server core busy (fan-out)", "{:.0%}", "fanout"),
    ("fanout_generator_load", "generator core busy (fan-out)", "{:.0%}", "fanout"),
    ("latency_p50_ms", "latency p50 (ms)", "{:.2f}", "fanout"),
    ("latency_p99_ms", "latency p99 (ms)", "{:.2f}", "fanout"),
    ("rss_per_idle_client_kib", "RSS per idle client (KiB)", "{:.2f}", "idle"),
    ("rss_after_kib", "RSS with idle clients (KiB)", "{:,.0f}", "idle"),
    ("reg_per_s", "registrations per second", "{:,.0f}", "idle"),
    ("reg_generator_load", "generator core busy (reg.)", "{:.0%}", "idle"),
    ("reg_listen_overflows", "listen queue overflows (reg.)", "{:.0f}", "idle"),
    ("reg_failures", "failed registrations", "{:.0f}", "idle"),
)


def table(results: dict[str, list[dict[str, object]]], phases: set[str]) -> str:
    names = list(results)
    others = [n for n in names if not n.startswith("ours")]
    head = ["figure (median, min-max)", *names]
    if "ours" in names:
        head += [f"ours/{o}" for o in others]
    rows = [head]
    for key, label, fmt, phase in ROWS:
        if phase not in phases:
            continue
        row = [label]
        medians: dict[str, float] = {}
        for name in names:
            values = [float(r[key]) for r in results[name]]  # type: ignore[arg-type]
            medians[name] = statistics.median(values)
            cell = fmt.format(medians[name])
            if len(values) > 1:
                cell += f" ({fmt.format(min(values))}-{fmt.format(max(values))})"
            row.append(cell)
        if "ours" in names:
            for other in others:
                ratio = medians["ours"] / medians[other] if medians[other] else float("nan")
                row.append(f"{ratio:.2f}")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def versus_best_peer(results: dict[str, list[dict[str, object]]]) -> str:
    """Issue 9's verdict for one load: ours against the best peer, by median CPU per delivery."""
    key = "server_cpu_us_per_delivery"
    medians = {n: statistics.median(float(r[key]) for r in rs) for n, rs in results.items()}  # type: ignore[arg-type]
    peers = {n: v for n, v in medians.items() if not n.startswith("ours")}
    if "ours" not in medians or not peers:
        return "  (needs ours and at least one peer)"
    best = min(peers, key=peers.__getitem__)
    ours, theirs = medians["ours"], peers[best]
    ok = "met" if ours <= theirs else "NOT met"
    return f"  ours {ours:.3f} us, best peer {best} {theirs:.3f} us ({ours / theirs:.2f} x): {ok}"


def verdict(ours: list[dict[str, object]], phases: set[str]) -> str:
    def med(key: str) -> float:
        return statistics.median(float(r[key]) for r in ours)  # type: ignore[arg-type]

    checks = (
        ("fanout", "CPU per delivery", "server_cpu_us_per_delivery", "<=", TARGET_CPU_US, "us"),
        ("idle", "RSS per idle client", "rss_per_idle_client_kib", "<=", TARGET_RSS_KIB, "KiB"),
        ("idle", "registrations", "reg_per_s", ">=", TARGET_REG_PER_S, "/s"),
    )
    out = []
    for phase, label, key, op, target, unit in checks:
        if phase not in phases:
            continue
        value = med(key)
        ok = value <= target if op == "<=" else value >= target
        out.append(
            f"  {label}: {value:.3g} {unit} (target {op} {target:g}): {'met' if ok else 'MISSED'}"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--servers", default="ours,ngircd,inspircd", help="comma-separated; also ours-uvloop"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument(
        "--reg-concurrency",
        default="10,inspircd=1000",
        help="registrations in flight: a default, then NAME=K overrides. ngircd's listen "
        "backlog is 10 (more in flight overflows it); InspIRCd completes registrations on "
        "a 1 s timer, so it needs ~1000 in flight to show its rate",
    )
    parser.add_argument("--server-python", default=sys.executable, help="runs `python -m ircd`")
    parser.add_argument(
        "--ours-root",
        type=Path,
        default=ROOT,
        help="directory holding the ircd package to run (python -m puts it first on sys.path),"
        " e.g. a `git archive` of one commit while ircd/ is being edited",
    )
    parser.add_argument("--client-python", default=sys.executable, help="runs irc_fanout.py")
    parser.add_argument(
        "--loads",
        help=f"comma-separated named loads ({', '.join(LOADS)}) measured in one session; "
        "they set --clients and --window",
    )
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not use taskset")
    parser.add_argument("--json", type=Path, help="also write every raw result here")
    args = parser.parse_args()
    if args.pin and (shutil.which("taskset") is None or (os.cpu_count() or 1) < 2):
        print("taskset missing or a single core: not pinning", file=sys.stderr)
        args.pin = False
    # SIGTERM (e.g. from `timeout`) must unwind like Ctrl-C, so that `running()` kills the
    # server it started instead of leaving it behind.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # Children inherit the limit: the servers hold --idle sockets, the generator too.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    specs = server_specs(args)
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    for name in names:
        if name not in specs:
            parser.error(f"unknown server {name!r}; known: {', '.join(specs)}")
        problem = specs[name].available()
        if problem:
            parser.error(f"{name}: {problem}")

    if args.loads:
        unknown = [x for x in args.loads.split(",") if x not in LOADS]
        if unknown:
            parser.error(f"unknown load {unknown[0]!r}; known: {', '.join(LOADS)}")
        loads = [LOADS[x] for x in args.loads.split(",")]
    else:
        loads = [Load("custom", args.clients, args.window)]

    reg_concurrency = parse_concurrency(args.reg_concurrency)
    results = {load.name: {n: [] for n in names} for load in loads}
    for run in range(1, args.runs + 1):
        for load in loads:
            for name in names:  # interleaved, so slow phases of a noisy machine hit all alike
                print(f"run {run}/{args.runs}: {load.name}: {name}", flush=True)
                with running(specs[name], args.pin, args.ours_root) as (pid, port, _):
                    result = run_fanout(args, pid, port, reg_concurrency(name), load)
                    results[load.name][name].append(result)
    if args.json:
        raw = results if args.loads else results["custom"]
        args.json.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    phases = {p for p, on in (("fanout", args.messages), ("idle", args.idle)) if on}
    for load in loads:
        print()
        print(
            f"{load.name}: N={load.clients} clients, S={args.senders} senders, "
            f"M={args.messages} messages, window {load.window}, {args.idle} idle clients "
            "registered with "
            + ", ".join(f"{n} {reg_concurrency(n)}" for n in names)
            + f" in flight, {args.runs} runs, "
            f"{'pinned' if args.pin else 'not pinned'}"
        )
        print(table(results[load.name], phases))
        if "ours" in names:
            print("targets (ours):")
            print(verdict(results[load.name]["ours"], phases))
            if "fanout" in phases:
                print("issue 9 (at or below the best peer):")
                print(versus_best_peer(results[load.name]))


if __name__ == "__main__":
    main()
