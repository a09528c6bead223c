"""The gated sync engine: HubSpot pull, push to Salesforce through the inclusion-list gate,
Salesforce pull. Services in ``sync.services`` orchestrate these into runs."""
