"""The bridge: every logged-in radio user is an IRC client of the embedded server.

`session.py` is the asyncio adapter of one radio connection (`RadioSession`);
`hub.py` wires the rest (`Bridge`): the sessions on the air (`registry.py`), the
mailbox (`mailbox.py`), the service nick with the channel archive (`service.py`) and
whose text goes on air (`trust.py`). Import from here: `from gateway.bridge import
Bridge, RadioSession`.
"""

from __future__ import annotations

from gateway.bridge.hub import Bridge
from gateway.bridge.registry import TAKEN_OVER
from gateway.bridge.session import CheckCode, RadioSession, radio_host
from gateway.session.thirdparty import RADIO_SUFFIX

__all__ = ["RADIO_SUFFIX", "TAKEN_OVER", "Bridge", "CheckCode", "RadioSession", "radio_host"]
