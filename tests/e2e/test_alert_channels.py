"""Journey: Alert channels → Add → a Slack channel (its incoming webhook is a local test server)
→ Save → "Send test alert" → the page shows the test queued, then delivered once the
background job has sent it (the page asks for the outcome by itself)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from integration.models import SettingChange
from sync.alerts.delivery import alert_delivery_send
from sync.models import AlertChannel, AlertDelivery
from tests.sync.alert_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


@pytest.fixture
def ops(django_user_model):
    return django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)


def test_configure_a_slack_channel_and_send_a_test_alert(live_server, page, ops, staff_login, screenshot):
    with Receiver(200) as slack:
        staff_login(page, "ops", PASSWORD)
        page.goto(f"{live_server.url}/admin/sync/alertchannel/add/")
        page.fill("#id_name", "Ops Slack")
        page.select_option("#id_kind", "slack")
        page.fill("#id_new_webhook_url", slack.url)
        page.check("#id_allow_custom_endpoint")
        page.fill("#id_failures_per_hour", "10")
        page.fill("#id_run_minutes", "45")
        page.fill("#id_api_usage_percent", "80")
        screenshot(page, "1-add")
        page.click("input[name=_continue]")
        page.wait_for_url(re.compile(r".*/admin/sync/alertchannel/\d+/change/$"))
        channel = AlertChannel.objects.get()
        assert (channel.webhook_url, channel.failures_per_hour, channel.run_minutes) == (slack.url, 10, 45)
        # The stored URL is shown masked, never in full, and the input is empty.
        expect(page.locator(".field-stored_webhook_url")).to_contain_text("http://127.0.0.1")
        assert "/services/T000/B000/XXXX" not in page.content()
        expect(page.locator("#id_new_webhook_url")).to_have_value("")
        expect(page.locator(".alert-test-outcome")).to_have_text("never sent")

        page.click("text=Send test alert")
        expect(page.locator(".messagelist")).to_contain_text("was queued")
        expect(page.locator(".alert-test-outcome")).to_contain_text("waiting to be sent")
        screenshot(page, "2-queued")

        # The background job (run here, as a worker would) sends it; the page polls and shows it.
        delivery = AlertDelivery.objects.get(is_test=True)
        assert alert_delivery_send(delivery_id=delivery.pk) == AlertDelivery.Status.DELIVERED
        expect(page.locator(".alert-test-outcome")).to_contain_text("Delivered", timeout=20000)
        screenshot(page, "3-delivered")

    assert len(slack.received) == 1 and slack.json()["text"] == "[Sync] Test alert"
    audited = set(SettingChange.objects.values_list("setting", flat=True))
    assert {f"alert_channel.{channel.pk}", f"alert_channel.{channel.pk}.test"} <= audited

    page.goto(f"{live_server.url}/admin/sync/alertchannel/")
    expect(page.locator("#result_list")).to_contain_text("10 failures/hour")
    expect(page.locator("#result_list")).to_contain_text("Delivered")
    screenshot(page, "4-list")


def test_a_refused_webhook_url_is_explained_in_the_form(live_server, page, ops, staff_login, screenshot):
    staff_login(page, "ops", PASSWORD)
    page.goto(f"{live_server.url}/admin/sync/alertchannel/add/")
    page.fill("#id_name", "Wrong host")
    page.select_option("#id_kind", "slack")
    page.fill("#id_new_webhook_url", "https://example.com/services/T/B/X")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("https://hooks.slack.com/services/")
    screenshot(page, "refused")
    assert not AlertChannel.objects.exists()
