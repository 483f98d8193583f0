"""Hypothesis settings for the property tests: modest example counts, no deadline (the
machine is shared and slow), and a `ci` profile for a deeper run (`--hypothesis-profile=deep`)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("default")
