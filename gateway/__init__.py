"""The gateway application: CLI, config, auth, telnet front end and sessions."""
