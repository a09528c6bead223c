"""HubSpot filterBranch criteria: parse, validate, compile to SQL, evaluate, explain."""
