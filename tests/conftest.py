"""Python tests that need root or tools name what is missing in a
module-level MISSING list (words). Their tests skip with that reason, or
fail when TINYVRRP_REQUIRE_ALL=1 (as in CI), so a missing tool can never
pass silently."""

import os

import pytest


def pytest_runtest_setup(item):
    missing = getattr(item.module, "MISSING", None)
    if not missing:
        return
    reason = f"{item.module.__name__} needs " + ", ".join(missing)
    if os.environ.get("TINYVRRP_REQUIRE_ALL") == "1":
        pytest.fail(reason + " (TINYVRRP_REQUIRE_ALL=1)", pytrace=False)
    pytest.skip(reason)
