"""Test-wide settings: no real AWS anywhere, hypothesis profiles for CI and long runs."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Nothing in the suite may reach a real AWS account.
for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ[name] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "acktrack-tests")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "acktrack")

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
