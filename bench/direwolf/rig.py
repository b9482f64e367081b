"""Two Dire Wolf instances wired by UDP audio: a real 1200-baud AX.25 path on one machine.

Instance A is the gateway's TNC (its KISS TCP port, or its AGW port for the rig's own
self-test); instance B is the far station, driven through its AGW port. Each instance
gets its own HOME (for .asoundrc) and writes audio through udp_audio.py, which keeps
sending silence so the other side's carrier detect drops. `-E PERCENT` on B's
transmitter corrupts frames for loss tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench import ports

UDP_AUDIO = Path(__file__).with_name("udp_audio.py")
READY_TIMEOUT = 20.0


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A free port below 32768 on every address: Dire Wolf 1.6 refuses ports above 49151,
    and binds them on all addresses."""
    return ports.free_port(kind, "0.0.0.0")


def available() -> str | None:
    """None if the rig can run here, else the reason it cannot."""
    if shutil.which("direwolf") is None:
        return "direwolf is not installed (Debian package direwolf; .ci/run installs it)"
    return None


@dataclass
class Instance:
    name: str
    mycall: str
    audio_in: int
    audio_out: int
    kiss_port: int
    agw_port: int
    loss: int = 0
    #: Extra configuration lines (e.g. MAXFRAME 4).
    extra: str = ""
    proc: asyncio.subprocess.Process | None = None
    log: list[str] = field(default_factory=list)
    #: Set each time a line joins `log`.
    _more: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, workdir: Path) -> None:
        home = workdir / f"home{self.name}"
        home.mkdir(parents=True, exist_ok=True)
        (home / ".asoundrc").write_text(
            f'pcm.out{self.name} {{ type file; slave.pcm "null"; '
            f'file "|{sys.executable} {UDP_AUDIO} {self.audio_out}"; format "raw" }}\n'
        )
        conf = workdir / f"dw{self.name}.conf"
        conf.write_text(
            f"ADEVICE udp:{self.audio_in} out{self.name}\nARATE 44100\nACHANNELS 1\n"
            f"CHANNEL 0\nMYCALL {self.mycall}\nMODEM 1200\n"
            f"KISSPORT {self.kiss_port}\nAGWPORT {self.agw_port}\n{self.extra}"
        )
        args = ["-t", "0", "-c", str(conf)]
        if self.loss:
            args += ["-E", str(self.loss)]
        self.proc = await asyncio.create_subprocess_exec(
            "stdbuf", "-oL", "direwolf", *args, cwd=workdir, env={**os.environ, "HOME": str(home)},
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        ready = {f"AGW client application 0 on port {self.agw_port}",
                 f"KISS TCP client application 0 on port {self.kiss_port}"}  # fmt: skip
        assert self.proc.stdout is not None
        async with asyncio.timeout(READY_TIMEOUT):
            while ready:
                line = (await self.proc.stdout.readline()).decode(errors="replace")
                if not line:
                    raise RuntimeError(f"direwolf {self.name} exited:\n" + "\n".join(self.log))
                self.log.append(line.rstrip())
                ready = {r for r in ready if r not in line}
        asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.log.append(line.decode(errors="replace").rstrip())
            self._more.set()

    async def wait_log(self, text: str, timeout: float) -> int:
        """The index in `log` of the first line containing ``text``, waiting for it."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for n in range(seen, len(self.log)):
                    if text in self.log[n]:
                        return n
                seen = len(self.log)
                self._more.clear()
                await self._more.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        # Its own session: the udp_audio child goes with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()


class DireWolfRig:
    def __init__(self, workdir: Path, *, loss_a: int = 0, loss_b: int = 0, extra: str = "") -> None:
        self.workdir = workdir
        udp_a, udp_b = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
        self.a = Instance("A", "N0DWA", udp_a, udp_b, free_port(), free_port(), loss_a, extra)
        self.b = Instance("B", "N0DWB", udp_b, udp_a, free_port(), free_port(), loss_b, extra)

    async def start(self) -> None:
        try:
            await self.a.start(self.workdir)
            await self.b.start(self.workdir)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await self.a.stop()
        await self.b.stop()
