"""Free ports for the servers that tests and benchmarks start.

A port is drawn at random below the kernel's ephemeral range (32768 and up on Linux,
where every bind to port 0 and every outgoing connection takes its port), then bound
once to see it is free. Binding port 0 and handing the number over raced every other
process on a busy machine: one took the port before the server bound it ("address
already in use", seen in CI-like runs about once in 60 gateway starts). Below the range
only another caller of this function can draw the same port, and this process never
hands one out twice.
"""

from __future__ import annotations

import random
import socket

#: Ports handed out by this process: two listeners of one server must not get the same
#: one before either has bound it.
_HANDED_OUT: set[int] = set()
LOW = 20000


def _ephemeral_low() -> int:
    """Where the kernel's ephemeral range starts (32768 if it cannot be read)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


HIGH = max(LOW + 1000, min(32768, _ephemeral_low()))


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port free a moment ago on `host`, below the ephemeral range, new to this process."""
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(LOW, HIGH)
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port between {LOW} and {HIGH}")
