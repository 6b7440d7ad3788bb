"""Test-wide settings: no real AWS anywhere, hypothesis profiles for CI and long runs."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from hypothesis import HealthCheck, settings

# Nothing in the suite may reach a real AWS account.
for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ[name] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "acktrack-tests")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "acktrack")
# `acktrack local` keeps one state file per user; the tests never touch the real one.
os.environ["ACKTRACK_STATE_DIR"] = tempfile.mkdtemp(prefix="acktrack-test-state-")
atexit.register(shutil.rmtree, os.environ["ACKTRACK_STATE_DIR"], ignore_errors=True)

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
