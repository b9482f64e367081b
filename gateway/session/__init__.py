"""Sessions over a line stream: line reading, login, commands, rendering, pacing."""
