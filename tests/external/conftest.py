"""Fixtures: the gateway subprocess fixture of tests/gateway, shared here."""

from tests.gateway.conftest import spawn_gateway

__all__ = ["spawn_gateway"]
