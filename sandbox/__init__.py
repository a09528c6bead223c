"""Local emulators of Salesforce and HubSpot ("try it without touching your org").

The emulators are plain WSGI applications, not Django views: they never touch the app's
database, keep their state in their own SQLite file (stdlib ``sqlite3``) and are driven by the
unmodified client libraries over real HTTP, exactly as the real services are.

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
- :mod:`sandbox.testing`: ``running_app(app, tls=False)`` and
  ``running_hubspot(tmp_dir)`` context managers for tests and benches.

The HubSpot emulator lives in :mod:`sandbox.hubspot` (``make_app(db_path)``), the
Salesforce one in :mod:`sandbox.salesforce` (``make_app(db_path)``).
"""
