#!/usr/bin/env python3
"""A virtual radio path between two Dire Wolf instances on one machine.

Reads raw signed 16-bit little-endian mono audio on stdin (what an ALSA "file" PCM
pipes to it) and sends it to a Dire Wolf `ADEVICE udp:PORT` input at real-time pace,
in 10 ms datagrams. When no audio is coming it keeps sending silence, so the receiving
instance's carrier detect drops and it may transmit.

    udp_audio.py PORT [RATE]      # RATE defaults to 44100
"""

import os
import socket
import sys
import threading
import time

CHUNK_MS = 10


def main() -> None:
    port = int(sys.argv[1])
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 44100
    pending = bytearray()
    lock = threading.Lock()

    def read_stdin() -> None:
        fd = sys.stdin.fileno()
        while True:
            data = os.read(fd, 65536)
            if not data:
                os._exit(0)
            with lock:
                pending.extend(data)

    threading.Thread(target=read_stdin, daemon=True).start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    size = rate * CHUNK_MS // 1000 * 2
    due = time.monotonic()
    while True:
        with lock:
            chunk = bytes(pending[:size])
            del pending[:size]
        sock.sendto(chunk + b"\0" * (size - len(chunk)), ("127.0.0.1", port))
        due += CHUNK_MS / 1000
        time.sleep(max(0.0, due - time.monotonic()))


if __name__ == "__main__":
    main()
