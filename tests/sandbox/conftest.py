"""Generic fixtures for the sandbox tests: emulators on ephemeral ports with temporary state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.testing import running_hubspot

SHARED_SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs"


@pytest.fixture
def hubspot_url(tmp_path: Path):
    """Base URL of a fresh HubSpot emulator (state in tmp_path)."""
    with running_hubspot(tmp_path) as url:
        yield url


@pytest.fixture
def hubspot_spec_dir() -> Path:
    """``../shared/specs/hubspot``; skipped when absent unless CI=true (then it must exist)."""
    directory = SHARED_SPECS / "hubspot"
    if not directory.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"HubSpot specs missing at {directory}")
        pytest.skip("HubSpot specs (../shared/specs/hubspot) not available")
    return directory
