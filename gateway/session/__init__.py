"""The radio session core (sans-IO): login, the packet chat language, rendering, pacing."""
