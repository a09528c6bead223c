"""The contact property schema: list, get, create and archive properties."""

from __future__ import annotations

from sandbox.hubspot.app.common import bool_arg, iso_ms_now, json_object
from sandbox.hubspot.schema import NAME_RE, PropertyDef
from sandbox.hubspot.store import HubSpotStore
from sandbox.wsgi import HttpError, Request, Response, empty_response, json_response


class PropertyHandlers:
    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def list_properties(self, request: Request) -> Response:
        if bool_arg(request, "archived"):
            return json_response(200, {"results": []})
        wanted = set(request.args("properties"))
        results = [p.to_json() for p in self.store.properties.values() if not wanted or p.name in wanted]
        return json_response(200, {"results": results})

    def get_property(self, request: Request, name: str) -> Response:
        prop = self.store.properties.get(name)
        if prop is None:
            raise HttpError(404, f"Unable to find property {name}", code="OBJECT_NOT_FOUND")
        return json_response(200, prop.to_json())

    def archive_property(self, request: Request, name: str) -> Response:
        try:
            found = self.store.archive_property(name)
        except PermissionError:
            raise HttpError(
                400, f"Property {name} is a HubSpot default and cannot be deleted.", code="VALIDATION_ERROR"
            )
        if not found:
            raise HttpError(404, f"Unable to find property {name}", code="OBJECT_NOT_FOUND")
        return empty_response(204)

    def create_property(self, request: Request) -> Response:
        body = json_object(request)
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise HttpError(400, f"Missing required fields: {', '.join(missing)}", code="VALIDATION_ERROR")
        if body["type"] not in ("string", "number", "bool", "date", "datetime", "enumeration"):
            raise HttpError(400, f"Unknown property type {body['type']}", code="VALIDATION_ERROR")
        if not NAME_RE.match(str(body["name"])):
            raise HttpError(400, f"Property name {body['name']} is invalid.", code="VALIDATION_ERROR")
        options = body.get("options") or []
        # A "HubSpot user" property: its options are the owners (see sandbox.hubspot.owners).
        owners = body.get("referencedObjectType") == "OWNER" and bool(body.get("externalOptions"))
        if body["type"] == "enumeration" and not options and not owners:
            raise HttpError(400, "Enumeration properties need options.", code="VALIDATION_ERROR")
        definition = PropertyDef(
            name=body["name"],
            label=body["label"],
            type=body["type"],
            field_type=body["fieldType"],
            group=body["groupName"],
            options=[(str(o["value"]), str(o.get("label") or o["value"])) for o in options],
            description=body.get("description") or "",
            hubspot_defined=False,
            read_only_definition=False,
            hidden=bool(body.get("hidden")),
            has_unique_value=bool(body.get("hasUniqueValue")),
            display_order=int(body.get("displayOrder", -1)),
            created_at=iso_ms_now(),
            external_options=owners,
            referenced_object_type="OWNER" if owners else None,
        )
        try:
            self.store.add_property(definition)
        except KeyError:
            raise HttpError(409, f"A property named '{definition.name}' already exists.", code="OBJECT_ALREADY_EXISTS")
        return json_response(201, self.store.properties.get(definition.name, definition).to_json())
