"""What the Salesforce emulator tests share besides fixtures: a valid Lead and the error of a call."""

from __future__ import annotations


def lead(i: int, **extra) -> dict:
    return {"FirstName": f"F{i}", "LastName": f"L{i}", "Company": "Acme", "Email": f"user{i}@example.com", **extra}


def error_of(exc_info) -> dict:
    return exc_info.value.content[0]
