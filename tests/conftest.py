"""Settings for the whole suite.

Hypothesis times each example on the wall clock (200 ms by default) and fails a test
whose example stalls, as any may on a busy CI machine: the properties here are about
values, not speed, so no deadline and no too-slow health check.
"""

from hypothesis import HealthCheck, settings

settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")
