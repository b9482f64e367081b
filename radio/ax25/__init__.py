"""AX.25 frames and the connected-mode link state machine."""
