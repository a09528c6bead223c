"""Local emulators of Salesforce and HubSpot ("try it without touching your org").

A program of its own: ``sandbox`` imports none of the product's packages (``config``, ``sync``,
``integration``, ``lists``) and none of them imports it (import-linter checks both ways). The
emulators are plain WSGI applications, not Django views: they never touch the app's database,
keep their state in their own SQLite file (stdlib ``sqlite3``) and are driven by the unmodified
client libraries over real HTTP, exactly as the real services are. Django is only their host:
``settings.DATA_DIR`` for the state files and the management commands.

Shared building blocks, used by both emulators:

- :mod:`sandbox.wsgi`: ``Router`` (method + regex path -> handler), ``Request``,
  ``Response``/``json_response``, ``HttpError`` (rendered in each service's error shape) and
  ``DropConnection`` (the server closes the connection without answering).
- :mod:`sandbox.store`: ``SQLiteStore`` (thread-local connections, one writer at
  a time, WAL), ``default_db_path(name)`` under ``settings.DATA_DIR / "sandbox"``.
- :mod:`sandbox.faults`: deterministic fault injection (``FaultInjector``,
  ``FaultPlan``) and the ``/_sandbox/`` control endpoints (``install_control_routes``).
- :mod:`sandbox.server`: threaded HTTP/1.1 keep-alive WSGI server, optional TLS,
  ``serve_in_thread(app, host, port=0, ssl_context=None) -> (server, port)``,
  ``ensure_certificate(directory)`` (self-signed cert for 127.0.0.1/localhost, generated once).
- :mod:`sandbox.testing`: ``running_app(app, tls=False)``, ``trusting_session(cert_path)`` and
  ``running_hubspot(tmp_dir)`` for tests and benches.

The emulators:

- :mod:`sandbox.hubspot` (``make_app(db_path)``, ``HubSpotStore``): ``app/`` the WSGI app (one
  module per API: contacts, batch, properties, oauth; hooks and limits), ``store``, ``schema``
  (the property definitions), ``search`` (the search API compiled to SQL), ``seed/`` (synthetic
  contacts for ``sandbox_seed``).
- :mod:`sandbox.salesforce` (``make_app(db_path)``, ``reset(db_path)``): ``app/`` the WSGI app
  (one module per API: sobjects, composite, query, ingest, auth, meta), ``records/`` (every write,
  with Salesforce's validation and results), ``soql/`` (parse and compile to SQLite), ``bulk``
  (Bulk API 2.0 jobs), ``oauth``, ``store``, ``lookups`` (in-memory candidate maps), ``schema``,
  ``ids``; :mod:`sandbox.salesforce.testing` starts it over TLS.

Management commands (``sandbox/management/commands``): ``sandbox_serve`` (both emulators),
``sandbox_seed`` (HubSpot contacts, and Salesforce records duplicating the first of them by email,
``sandbox.salesforce.seed``) and ``sandbox_reset`` (empty both).
"""
