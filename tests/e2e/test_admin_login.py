"""Journey: a newcomer logs in to the admin and finds the three apps, in English and in French."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("locale", "titles", "login_button"),
    [
        ("en-US", ["Contacts and lists", "Connected apps", "Sync"], "Log in"),
        ("fr-FR", ["Contacts et listes", "Applications connectées", "Synchronisation"], "Connexion"),
    ],
)
def test_log_in_and_see_the_three_apps(
    live_server, page_factory, screenshot, django_user_model, locale, titles, login_button
):
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-test-password")
    page = page_factory(locale)
    page.goto(f"{live_server.url}/admin/")
    screenshot(page, "login")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-test-password")
    page.get_by_role("button", name=login_button).click()
    page.wait_for_selector("#content-main")
    screenshot(page, "index")
    # text_content, not inner_text: the admin styles app captions in capitals.
    text = page.text_content("#content-main")
    for title in titles:
        assert title in text


def test_the_language_switch_in_the_header_turns_the_page_french_and_back(
    live_server, page_factory, screenshot, django_user_model
):
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-test-password")
    page = page_factory("en-US")
    page.goto(f"{live_server.url}/admin/sync/health/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("#content-main")
    assert "Sync health" in page.text_content("h1")

    page.get_by_role("button", name="Français").click()
    page.wait_for_selector("html[lang=fr]")
    screenshot(page, "french")
    assert page.url.endswith("/admin/sync/health/"), "back on the page that asked"
    assert "État de la synchronisation" in page.text_content("h1")

    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang=en]")
    assert "Sync health" in page.text_content("h1")
