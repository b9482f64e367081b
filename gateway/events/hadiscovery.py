"""Home Assistant MQTT discovery: the gateway as a device with a few entities.

`discovery(base, name, prefix)` lists retained (topic, JSON) pairs that Home Assistant
reads from `<prefix>/<component>/<object id>/config`: whether the gateway is online (the
retained `status` topic and its last will), three counts (radio sessions open, unread
mail waiting, logins today: the retained `sessions`, `mail` and `logins` topics that
mqtt.py keeps), and the latest of the events a sysop watches (logins, refused logins,
sessions, mail, and with radio ports the transmitter and the TNC), each read from its
retained `state/<kind>` copy, so every entity finds its state again after a restart of
Home Assistant or of the gateway. Entity names say what they show: "Last login" is a
callsign, "Active sessions" a count. `origin` names the gateway's software and version.
Pure: mqtt.py publishes what this returns.
"""

from __future__ import annotations

import json
import re
from importlib import metadata

#: (event kind, entity name, the payload field that is its state, icon, radio only).
_SENSORS = (
    ("login", "Last login", "callsign", "mdi:login", False),
    ("login_failed", "Last refused login", "callsign", "mdi:account-alert", False),
    ("session_start", "Last session start", "callsign", "mdi:radio-handheld", False),
    ("session_end", "Last session end", "callsign", "mdi:radio-off", False),
    ("mail_stored", "Last message held for", "callsign", "mdi:email-arrow-right", False),
    ("transmitter", "Transmitter", "state", "mdi:radio-tower", True),
    ("tnc", "TNC", "state", "mdi:access-point-network", True),
)
#: The event kinds Home Assistant shows (mqtt.py keeps the latest of each retained).
SHOWN = frozenset(kind for kind, *_ in _SENSORS)
#: The counts: (retained topic, entity name, payload field, state class, icon).
_COUNTS = (
    ("sessions", "Active sessions", "active", "measurement", "mdi:account-multiple"),
    ("mail", "Mail waiting", "waiting", "measurement", "mdi:email-multiple"),
    ("logins", "Logins today", "today", "total_increasing", "mdi:counter"),
)
PACKAGE = "packet-irc-gateway"


def version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # run from a source tree not installed
        return "unknown"


def state_topic(base: str, kind: str) -> str:
    """The retained copy of the latest `kind` event, which Home Assistant reads."""
    return f"{base}/state/{kind}"


def object_id(name: str, key: str) -> str:
    """Home Assistant's object ids are letters, digits, `_` and `-`."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"packetgw_{name}_{key}").lower()


def discovery(
    base: str, name: str, prefix: str = "homeassistant", *, radio: bool = True
) -> list[tuple[str, str]]:
    """The retained discovery messages for the gateway publishing under `base`; `radio`:
    it has radio ports (else no transmitter and TNC entities)."""
    device = {
        "identifiers": [object_id(name, "device")],
        "name": f"{name} packet IRC gateway",
        "manufacturer": "Packet IRC Gateway",
        "model": "TOTP-gated packet radio to IRC gateway",
    }
    origin = {"name": PACKAGE, "sw_version": version()}
    availability = {"availability_topic": f"{base}/status"}
    online = {
        "name": "Online",
        "unique_id": object_id(name, "online"),
        "state_topic": f"{base}/status",
        "payload_on": "online",
        "payload_off": "offline",
        "device_class": "connectivity",
        "device": device,
        "origin": origin,
    }
    out = [(f"{prefix}/binary_sensor/{online['unique_id']}/config", json.dumps(online))]
    for topic, label, field, state_class, icon in _COUNTS:
        count = {
            "name": label,
            "unique_id": object_id(name, topic),
            "state_topic": f"{base}/{topic}",
            "value_template": f"{{{{ value_json.{field} }}}}",
            "state_class": state_class,
            "icon": icon,
            "device": device,
            "origin": origin,
            **availability,
        }
        out.append((f"{prefix}/sensor/{count['unique_id']}/config", json.dumps(count)))
    for kind, label, state, icon, radio_only in _SENSORS:
        if radio_only and not radio:
            continue
        uid = object_id(name, kind)
        config = {
            "name": label,
            "unique_id": uid,
            "state_topic": state_topic(base, kind),
            "value_template": f"{{{{ value_json.{state} }}}}",
            "json_attributes_topic": state_topic(base, kind),
            "icon": icon,
            "device": device,
            "origin": origin,
            **availability,
        }
        out.append((f"{prefix}/sensor/{uid}/config", json.dumps(config)))
    return out
