"""HubSpot's Lists v3 for contact lists (``objectTypeId`` ``0-1``): definitions, memberships and the
processing HubSpot does in the background, kept in the HubSpot store's SQLite file.

=====================  ==========================================================================
module                 job
=====================  ==========================================================================
:mod:`.schema`         the tables (lists, memberships, references, the queue of changed contacts,
                       settings) and the triggers that queue a contact whenever it changes, whoever
                       writes it (the API, ``bulk_insert``, another process)
:mod:`.catalogue`      what HubSpot's spec documents: branch types, filter types and their fields,
                       property operation types and their operators; which of them the sandbox
                       evaluates itself
:mod:`.definition`     a ``filterBranch`` checked and put in HubSpot's stored form (400s name the
                       branch and filter), its references to other lists, whether it is evaluable
:mod:`.evaluate`       the evaluator: a definition compiled to a predicate over one contact
                       (DESIGN §5 semantics, the product's own)
:mod:`.engine`         processing: a list's full evaluation when its definition changes, per
                       changed contact otherwise, ``PROCESSING`` -> ``COMPLETE``
:mod:`.store`          :class:`~.store.HubSpotLists`, the API the handlers and tests use
=====================  ==========================================================================

This package imports nothing from :mod:`sandbox.hubspot.store` (which imports :mod:`.schema`): it
works on the store it is given.
"""
