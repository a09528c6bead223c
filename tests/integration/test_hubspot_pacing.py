"""The HubSpot client paces its own calls within HubSpot's limits (190 per 10 s, 5 searches per
second) instead of leaning on 429s; with the emulator's limits on, a paced pull meets none."""

from __future__ import annotations

import pytest

from integration.clients.hubspot.pacing import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_no_window_ever_holds_more_calls_than_allowed():
    clock = FakeClock()
    pacer = Pacer(5, 10.0, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(23):
        pacer.wait()
        sent.append(clock.now)
        clock.now += 0.3  # the call itself
    for start in sent:
        assert sum(1 for t in sent if start <= t < start + 10.0) <= 5
    # It waits only what the window needs: 23 calls at 5 per 10 s take just over 40 s.
    assert 40.0 <= sent[-1] < 41.0


def test_a_pace_of_zero_never_waits():
    clock = FakeClock()
    pacer = Pacer(0, 10.0, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        pacer.wait()
    assert clock.slept == []


@pytest.mark.django_db
def test_paced_searches_meet_no_429_from_an_emulator_enforcing_five_a_second(tmp_path, settings):
    from integration.clients.hubspot import HubSpotClient
    from sandbox.hubspot import PROFESSIONAL, HubSpotStore
    from sandbox.testing import running_hubspot

    settings.HUBSPOT_CALLS_PER_10_SECONDS = 180
    settings.HUBSPOT_SEARCHES_PER_SECOND = 4
    store = HubSpotStore(tmp_path / "hubspot.sqlite3")
    store.bulk_insert(
        ({"email": f"p{i}@pace.example"}, 1_700_000_000_000 + i, 1_700_000_000_000 + i) for i in range(2000)
    )
    store.close()
    with running_hubspot(tmp_path, limits=PROFESSIONAL) as url:
        client = HubSpotClient(base_url=url, access_token="sandbox", retry=False)
        pages = list(client.search_modified_since(None, ["email"]))
    assert sum(len(p.contacts) for p in pages) == 2000
    assert client.api_calls == 10  # ten pages of 200, none refused
