"""The rig itself: two Dire Wolf stations connect and exchange data over the audio path.

If this fails, the rig (not our AX.25 stack) is broken.
"""

from __future__ import annotations

import pytest

from bench.direwolf.agw import AgwClient, AgwFrame
from bench.direwolf.rig import DireWolfRig

pytestmark = pytest.mark.slow

TIMEOUT = 60


async def test_two_direwolf_stations_connect(rig: DireWolfRig) -> None:
    near = await AgwClient.connect(rig.a.agw_port)
    far = await AgwClient.connect(rig.b.agw_port)
    try:
        await near.register("N0GW")
        await far.register("N0USR")
        far.send(AgwFrame("C", "N0USR", "N0GW", b""))
        assert b"CONNECTED" in (await far.wait_for("C", TIMEOUT)).data
        far.send(AgwFrame("D", "N0USR", "N0GW", b"hello\r"))
        assert (await near.wait_for("D", TIMEOUT)).data == b"hello\r"
        far.send(AgwFrame("d", "N0USR", "N0GW", b""))
        assert b"DISCONNECTED" in (await far.wait_for("d", TIMEOUT)).data
    finally:
        near.close()
        far.close()
