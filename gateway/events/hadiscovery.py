"""Home Assistant MQTT discovery: the gateway as a device with a few entities.

`discovery(base, name, prefix)` lists retained (topic, JSON) pairs that Home Assistant
reads from `<prefix>/<component>/<object id>/config`: whether the gateway is online (the
retained `status` topic and its last will), and the latest of the events a sysop watches
(logins, refused logins, sessions, mail, the transmitter, the TNC), each read from the
event topic the gateway publishes anyway. Nothing else is published for it, so entities
cost no extra traffic. Pure: mqtt.py publishes what this returns.
"""

from __future__ import annotations

import json
import re

#: (event kind, entity name, the payload field that is its state, icon).
_SENSORS = (
    ("login", "Last login", "callsign", "mdi:login"),
    ("login_failed", "Last refused login", "callsign", "mdi:account-alert"),
    ("session_start", "Last session start", "callsign", "mdi:radio-handheld"),
    ("session_end", "Last session end", "callsign", "mdi:radio-off"),
    ("mail_stored", "Last message held", "callsign", "mdi:email-arrow-right"),
    ("transmitter", "Transmitter", "state", "mdi:radio-tower"),
    ("tnc", "TNC", "state", "mdi:access-point-network"),
)


def object_id(name: str, key: str) -> str:
    """Home Assistant's object ids are letters, digits, `_` and `-`."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"packetgw_{name}_{key}").lower()


def discovery(base: str, name: str, prefix: str = "homeassistant") -> list[tuple[str, str]]:
    """The retained discovery messages for the gateway publishing under `base`."""
    device = {
        "identifiers": [object_id(name, "device")],
        "name": f"{name} packet IRC gateway",
        "manufacturer": "Packet IRC Gateway",
        "model": "TOTP-gated packet radio to IRC gateway",
    }
    availability = {"availability_topic": f"{base}/status"}
    online = {
        "name": "Online",
        "unique_id": object_id(name, "online"),
        "state_topic": f"{base}/status",
        "payload_on": "online",
        "payload_off": "offline",
        "device_class": "connectivity",
        "device": device,
    }
    out = [(f"{prefix}/binary_sensor/{online['unique_id']}/config", json.dumps(online))]
    for kind, label, state, icon in _SENSORS:
        uid = object_id(name, kind)
        config = {
            "name": label,
            "unique_id": uid,
            "state_topic": f"{base}/{kind}",
            "value_template": f"{{{{ value_json.{state} }}}}",
            "json_attributes_topic": f"{base}/{kind}",
            "icon": icon,
            "device": device,
            **availability,
        }
        out.append((f"{prefix}/sensor/{uid}/config", json.dumps(config)))
    return out
