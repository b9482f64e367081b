"""Tests for radio.ax25.actions: link parameters and the action objects."""

from __future__ import annotations

import dataclasses

import pytest

from radio.ax25.actions import Deliver, LinkParams, StartTimer, Timer


def test_defaults_follow_the_reference() -> None:
    params = LinkParams()
    assert (params.k, params.paclen, params.n2, params.t1, params.t3) == (4, 256, 10, 3.0, 300.0)


@pytest.mark.parametrize(
    "fields",
    [
        {"k": 0},
        {"k": 8},
        {"paclen": 0},
        {"paclen": 4096},
        {"n2": 0},
        {"t1": 0.0},
        {"t3": -1.0},
        {"t2": -0.5},
        {"bit_rate": 0},
        {"tx_delay": -0.1},
    ],
)
def test_invalid_parameters_are_rejected(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LinkParams(**fields)  # type: ignore[arg-type]


def test_ack_delay_covers_one_full_frame_on_air() -> None:
    # A full 256-octet I frame takes about 1.84 s at 1200 bit/s; T2 waits a bit longer.
    assert 1.84 < LinkParams().ack_delay < 2.5
    assert LinkParams(bit_rate=9600).ack_delay < 0.5
    assert LinkParams(t2=0.7).ack_delay == 0.7
    assert LinkParams(bit_rate=None).ack_delay == 1.0


def test_params_and_actions_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        LinkParams().k = 7  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        StartTimer(Timer.T1, 1.0).seconds = 2.0  # type: ignore[misc]
    assert Deliver(b"x") == Deliver(b"x")
