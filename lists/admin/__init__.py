"""The lists tool in the admin: the lists page, the list editor with its live preview, contacts.

Writes go through ``lists.services`` (never ``ModelAdmin``'s default save/delete) so the admin,
the commands and the tasks share one path: the criteria are validated, a list's refresh is queued
once the transaction commits, and static members join and leave with their ``MembershipChange``
rows. Who saved or renamed a list is the admin's own history (``LogEntry``); the services keep no
audit row of list edits.

Laid out like Django's own admin: ``contacts`` and ``lists`` hold the ``ModelAdmin`` classes,
``actions`` and ``filters`` what they use, ``editor`` what the list editor's script receives,
``base`` the read-only base the apps above share. Importing the two first registers everything.
"""

from lists.admin import contacts, lists

__all__ = ["contacts", "lists"]
