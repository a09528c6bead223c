"""Writes on lists: create, edit, delete, refresh in full, update incrementally, static members.

- :mod:`.edit`: create, rename, re-define and delete lists (a refresh is queued on commit).
- :mod:`.sql`: the set-based statements the others share (temporary id sets, joins, leaves).
- :mod:`.refresh`: the full refresh of a list, then of the lists that use it.
- :mod:`.incremental`: the update of every COMPLETE list for a batch of changed contacts.
- :mod:`.static`: members added and removed by hand.
- :mod:`.scheduled`: the refreshes that follow time (rolling dates) and schema changes.
"""

from lists.services.edit import list_create, list_delete, list_rename, list_update
from lists.services.incremental import MembershipDelta, memberships_update_for_contacts
from lists.services.refresh import list_refresh
from lists.services.scheduled import lists_refresh_rolling, lists_refresh_using_properties
from lists.services.static import static_members_add, static_members_remove

__all__ = [
    "MembershipDelta",
    "list_create",
    "list_delete",
    "list_refresh",
    "list_rename",
    "list_update",
    "lists_refresh_rolling",
    "lists_refresh_using_properties",
    "memberships_update_for_contacts",
    "static_members_add",
    "static_members_remove",
]
