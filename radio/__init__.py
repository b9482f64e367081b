"""KISS and AX.25 connected mode, usable on its own."""
