"""The command line: `gateway init`, `run`, `enroll`, `status` and the sysop's other commands."""
