"""Typed events inside the gateway, for whoever listens (today: MQTT).

`Events.emit(kind, **fields)` is synchronous, never blocks and never raises into the
caller: a listener that fails is logged and the event goes on to the others. No event
ever carries a code or a secret; message text travels only when the sysop asks for it
(`mqtt.messages: text`).

Kinds and their fields (the MQTT topic is `<prefix>/<gateway>/<kind>`):

- `login`: callsign, transport (`telnet`, `ax25`, `irc`), source;
- `login_failed`: callsign, transport, source_kind (the node), reason (`refused`, or
  `penalty` when a brake refused it before any code was compared);
- `session_start`: callsign, nick, via; `session_end`: the same and bytes_to_user,
  bytes_from_user (for a session a crash ended, told at the next start: null, with
  `crashed` true and `started_at`);
- `message`: direction (`to_air`, `from_air`), callsign, target, sender, and text only
  with `mqtt.messages: text`;
- `mail_stored`: callsign, sender; `mail_delivered`: callsign, count;
- `transmitter`: state (`on`, `off`), port (null: all ports);
- `tnc`: port, state (`up`, `down`); `duty_cycle`: port.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("gateway.events.bus")

KINDS = frozenset(
    {
        "login", "login_failed", "session_start", "session_end", "message", "mail_stored",
        "mail_delivered", "transmitter", "tnc", "duty_cycle",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    at: float
    fields: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"event": self.kind, "at": round(self.at, 3), **self.fields}


Listener = Callable[[Event], None]


class Events:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, kind: str, **fields: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")  # our bug, not outside data
        if not self._listeners:
            return
        event = Event(kind, self._clock(), fields)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed on %s", kind)
