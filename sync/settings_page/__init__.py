"""The connected app's pages: "Connected apps", and Salesforce's settings page with its tabs
(Connection, Sync settings with "Limit syncs", Field mappings).

They live in ``sync`` because they act on it (a resync, its runs, members never synced) and
``sync`` is the layer that may import ``integration`` and ``lists``; their URLs stay under
``/admin/integration/`` (the public contract) with the URL namespace ``integration``.

- :mod:`.common`: the page's URLs, permissions and messages, shared by the views.
- :mod:`.page`: the two pages and each tab's context.
- :mod:`.limit_syncs`: the inclusion list, the switch impact, the resync, the other settings.
- :mod:`.imports`: "Import existing Salesforce records" (a run, with its progress).
- :mod:`.connections`: saving, testing, connecting and disconnecting Salesforce and HubSpot.
- :mod:`.mappings`: adding, changing and deleting field mappings.
- :mod:`.forms`: the forms of all three tabs.

Views are thin: they check a permission, validate a form and call one service. Every view is
wrapped in ``admin.site.admin_view`` (staff login, CSRF, no caching) by :mod:`.urls`.
"""
