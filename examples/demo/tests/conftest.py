"""Fixtures for the demo's behaviour tests: the fake API on loopback, fresh counters per test.

One server serves the whole session and its URL is set in `DEMO_API_URL` before any test runs,
as a deployed app reads its configuration once at start-up.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo_app.clients import APIClient  # noqa: E402
from demo_app.server import FakeAPI  # noqa: E402


@pytest.fixture(scope="session")
def server():
    with FakeAPI() as running:
        os.environ["DEMO_API_URL"] = running.url
        yield running


@pytest.fixture
def api(server: FakeAPI, monkeypatch: pytest.MonkeyPatch) -> FakeAPI:
    """The fake API with its request counts, latencies and `APIClient.created` reset."""
    server.reset()
    monkeypatch.setattr(APIClient, "created", 0)
    return server
