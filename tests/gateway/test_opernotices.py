"""Radio warnings reach IRC operators, rate-limited."""

from __future__ import annotations

import asyncio
import logging

from gateway.irc.opernotices import OperatorAlerts


async def test_radio_warnings_become_notices_at_a_bounded_rate(caplog) -> None:
    caplog.set_level(logging.INFO)  # as `log_level: info` (the default) does
    now = [0.0]
    sent: list[str] = []
    alerts = OperatorAlerts(sent.append, asyncio.get_running_loop(), lambda: now[0], burst=3,
                            period=60)  # fmt: skip
    alerts.install()
    try:
        port = logging.getLogger("radio.port")
        port.warning("vhf: TNC connection lost")
        port.info("vhf: connected to the TNC")
        logging.getLogger("radio.station").info("vhf: N0USR connected (via direct)")  # not wanted
        logging.getLogger("gateway").warning("radio transmitter OFF")
        logging.getLogger("gateway.thirdparty").info("text from anon not sent on air to N0TEST")
        logging.getLogger("gateway.bridge").warning("radio transmitter? not from here")
        for _ in range(10):  # a flapping TNC
            port.warning("vhf: TNC connection lost")
        await asyncio.sleep(0)
        assert sent == [
            "Radio: vhf: TNC connection lost",
            "Radio: vhf: connected to the TNC",
            "Radio: radio transmitter OFF",
        ]  # the burst of 3 is spent: the third-party line waits with the rest
        now[0] = 60.0  # the bucket has refilled: the count of what was held back, then more
        port.warning("vhf: connected to the TNC")
        await asyncio.sleep(0)
        assert sent[3:] == [
            "(11 more radio warnings in the log)",
            "Radio: vhf: connected to the TNC",
        ]
    finally:
        alerts.remove()
