"""An embedded IRC server, usable on its own (`python -m ircd`)."""
