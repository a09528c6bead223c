"""The Connection tab's actions: save a connection's settings (secrets write-only), test,
connect (with the OAuth web-server flow when chosen), disconnect, use the built-in sandbox.

Salesforce and HubSpot go through the same views; a ``Service`` says what differs (model,
form, services to call, messages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from integration import services as conn
from integration.models import HubSpotConnection, SalesforceConnection
from sync.settings_page.common import LAST_TEST_KEY, back, error_messages, form_errors, require
from sync.settings_page.forms import HubSpotConnectionForm, SalesforceConnectionForm

OAUTH_STATE_KEY = "integration_oauth_state"


@dataclass(frozen=True)
class Service:
    """What differs between the two connections. The services it calls follow the house's
    naming (``integration.services.<key>_connection_test``, ``<key>_connect``, ...)."""

    key: str  # "salesforce" or "hubspot": the tab's anchor, the session's marker, the URL names
    name: str
    model: type[SalesforceConnection] | type[HubSpotConnection]
    form_class: type[ModelForm]
    prefix: str
    oauth_method: str  # the auth method that goes through the browser (OAuth web-server flow)
    saved: Any
    disconnected: Any

    @property
    def permission(self) -> str:
        return f"integration.change_{self.model._meta.model_name}"

    def callback_url(self, request: HttpRequest) -> str:
        """Where the provider sends the browser back after the OAuth consent screen."""
        return request.build_absolute_uri(reverse(f"integration:{self.key}_oauth_callback"))

    def service(self, verb: str) -> Callable[..., Any]:
        """``integration.services.<key>_<verb>``: connection_test, connect, disconnect, use_sandbox,
        authorize_url, oauth_callback."""
        return getattr(conn, f"{self.key}_{verb}")


SALESFORCE = Service(
    "salesforce",
    "Salesforce",
    SalesforceConnection,
    SalesforceConnectionForm,
    prefix="sf",
    oauth_method=SalesforceConnection.AuthMethod.OAUTH_WEB,
    saved=gettext_lazy("Salesforce connection settings saved."),
    disconnected=gettext_lazy("Salesforce disconnected: the tokens were deleted."),
)
HUBSPOT = Service(
    "hubspot",
    "HubSpot",
    HubSpotConnection,
    HubSpotConnectionForm,
    prefix="hs",
    oauth_method=HubSpotConnection.AuthMethod.OAUTH,
    saved=gettext_lazy("HubSpot connection settings saved."),
    disconnected=gettext_lazy("HubSpot disconnected: the tokens were deleted."),
)


def _remember_test(request: HttpRequest, service: Service, result: conn.ConnectionTestResult) -> None:
    request.session[LAST_TEST_KEY] = {
        "which": service.key,
        "ok": result.ok,
        "message": result.message,
        "api_max": result.api_max,
        "api_remaining": result.api_remaining,
        "api_used": result.api_used,
    }
    (messages.success if result.ok else messages.error)(request, result.message)


def _save(request: HttpRequest, service: Service) -> HttpResponse:
    """Save a connection's settings and new secrets through the audited service."""
    require(request, service.permission)
    connection = service.model.load()
    form = service.form_class(request.POST, instance=service.model.load(), prefix=service.prefix)
    if not form.is_valid():
        form_errors(request, form)
        return back("connection", service.key)
    try:
        audit = conn.connection_update(
            connection=connection, actor=request.user, changes=form.setting_changes(), secrets=form.new_secrets()
        )
    except ValidationError as exc:
        error_messages(request, exc)
        return back("connection", service.key)
    messages.success(request, service.saved)
    cleared = conn.secrets_cleared(audit)
    if cleared:
        labels = [str(form.secret_label(name)) for name in cleared]
        messages.warning(
            request,
            _(
                "The connection now points elsewhere: its stored secrets were deleted (%(secrets)s). "
                "Enter them again, then connect."
            )
            % {"secrets": ", ".join(labels)},
        )
    return back("connection", service.key)


def _action(request: HttpRequest, service: Service) -> HttpResponse:
    require(request, service.permission)
    connection = service.model.load()
    action = request.POST.get("action")
    if action == "connect" and connection.auth_method == service.oauth_method:
        return _oauth_start(request, service, connection)
    if action in ("test", "connect", "sandbox"):
        verb = {"test": "connection_test", "connect": "connect", "sandbox": "use_sandbox"}[action]
        _remember_test(request, service, service.service(verb)(connection=connection, actor=request.user))
    elif action == "disconnect":
        service.service("disconnect")(connection=connection, actor=request.user)
        messages.success(request, service.disconnected)
    else:
        messages.error(request, _("Unknown action."))
    return back("connection", service.key)


def _oauth_start(request: HttpRequest, service: Service, connection: Any) -> HttpResponse:
    state = conn.new_oauth_state()
    request.session[OAUTH_STATE_KEY] = {"which": service.key, "state": state}
    try:
        authorize_url = service.service("authorize_url")
        url = authorize_url(connection=connection, redirect_uri=service.callback_url(request), state=state)
    except ValidationError as exc:
        error_messages(request, exc)
        return back("connection", service.key)
    return HttpResponseRedirect(url)


def _oauth_callback(request: HttpRequest, service: Service) -> HttpResponse:
    require(request, service.permission)
    expected = request.session.pop(OAUTH_STATE_KEY, None) or {}
    if request.GET.get("error"):
        # Never the link's own words (error_description): anyone can craft this URL.
        messages.error(request, conn.oauth_error_message(request.GET["error"], service=service.name))
        return back("connection", service.key)
    state, code = request.GET.get("state", ""), request.GET.get("code", "")
    if not code or expected.get("which") != service.key or not state or state != expected.get("state"):
        messages.error(request, _("This authorization does not match the one started here; start again."))
        return back("connection", service.key)
    connection = service.model.load()
    try:
        service.service("oauth_callback")(
            connection=connection, code=code, redirect_uri=service.callback_url(request), actor=request.user
        )
        result = service.service("connection_test")(connection=connection, actor=request.user)
    except conn.ConnectError as exc:
        messages.error(request, str(exc))
        return back("connection", service.key)
    except ValidationError as exc:
        error_messages(request, exc)
        return back("connection", service.key)
    _remember_test(request, service, result)
    return back("connection", service.key)


def _for(service: Service, view: Callable[[HttpRequest, Service], HttpResponse], name: str, method: Callable):
    """``view`` for one service, named ``<service>_<name>`` (the URL's name too)."""

    def bound(request: HttpRequest) -> HttpResponse:
        return view(request, service)

    bound.__name__ = bound.__qualname__ = f"{service.key}_{name}"
    return method(bound)


salesforce_connection_save = _for(SALESFORCE, _save, "connection_save", require_POST)
salesforce_connection_action = _for(SALESFORCE, _action, "connection_action", require_POST)
salesforce_oauth_callback = _for(SALESFORCE, _oauth_callback, "oauth_callback", require_GET)
hubspot_connection_save = _for(HUBSPOT, _save, "connection_save", require_POST)
hubspot_connection_action = _for(HUBSPOT, _action, "connection_action", require_POST)
hubspot_oauth_callback = _for(HUBSPOT, _oauth_callback, "oauth_callback", require_GET)
