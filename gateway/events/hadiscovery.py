"""Home Assistant MQTT discovery: the gateway as a device with a few entities.

`discovery(base, name, prefix)` lists retained (topic, JSON) pairs that Home Assistant
reads from `<prefix>/<component>/<object id>/config`: whether the gateway is online (the
retained `status` topic and its last will), the number of radio sessions open (the
retained `sessions` topic, counted by mqtt.py from the session events), and the latest of
the events a sysop watches (logins, refused logins, sessions, mail, and with radio ports
the transmitter and the TNC), each read from the event topic the gateway publishes anyway.
Entity names say what they show: "Last login" is a callsign, "Active sessions" a count.
`origin` names the gateway's software and version. Pure: mqtt.py publishes what this returns.
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
#: The event kinds Home Assistant shows (mqtt.py republishes their latest on its birth).
SHOWN = frozenset(kind for kind, *_ in _SENSORS)
PACKAGE = "packet-irc-gateway"


def version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # run from a source tree not installed
        return "unknown"


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
    sessions = {
        "name": "Active sessions",
        "unique_id": object_id(name, "sessions"),
        "state_topic": f"{base}/sessions",
        "value_template": "{{ value_json.active }}",
        "state_class": "measurement",
        "icon": "mdi:account-multiple",
        "device": device,
        "origin": origin,
        **availability,
    }
    out = [
        (f"{prefix}/binary_sensor/{online['unique_id']}/config", json.dumps(online)),
        (f"{prefix}/sensor/{sessions['unique_id']}/config", json.dumps(sessions)),
    ]
    for kind, label, state, icon, radio_only in _SENSORS:
        if radio_only and not radio:
            continue
        uid = object_id(name, kind)
        config = {
            "name": label,
            "unique_id": uid,
            "state_topic": f"{base}/{kind}",
            "value_template": f"{{{{ value_json.{state} }}}}",
            "json_attributes_topic": f"{base}/{kind}",
            "icon": icon,
            "device": device,
            "origin": origin,
            **availability,
        }
        out.append((f"{prefix}/sensor/{uid}/config", json.dumps(config)))
    return out
