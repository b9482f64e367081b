"""AX.25 frames and the connected-mode link state machine.

The public surface is re-exported here; the modules are `frame` (codec), `actions`
(states, timers, actions, parameters), `link` (the state machine, with its SDL
procedures in `procedures` and timing helpers in `timers`) and `sim` (a virtual-time
channel simulator for tests and benchmarks, not imported here).
"""

from radio.ax25.actions import (
    Action,
    Deliver,
    ErrorIndication,
    LinkDown,
    LinkParams,
    LinkReset,
    LinkUp,
    LocalLinkError,
    SendFrame,
    StartTimer,
    State,
    StopTimer,
    Timer,
)
from radio.ax25.frame import (
    PID_NO_LAYER3,
    Address,
    Frame,
    FrameError,
    FrameType,
    decode,
    reply_path,
)
from radio.ax25.link import Link, no_link_reply

__all__ = [
    "PID_NO_LAYER3",
    "Action",
    "Address",
    "Deliver",
    "ErrorIndication",
    "Frame",
    "FrameError",
    "FrameType",
    "Link",
    "LinkDown",
    "LinkParams",
    "LinkReset",
    "LinkUp",
    "LocalLinkError",
    "SendFrame",
    "StartTimer",
    "State",
    "StopTimer",
    "Timer",
    "decode",
    "no_link_reply",
    "reply_path",
]
