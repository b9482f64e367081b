"""Events out of the gateway: the typed event bus, MQTT (events, bulletins), Home Assistant."""
