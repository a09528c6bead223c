"""Keeping secrets out of logs: a logging filter with no dependency on the app (the logging
configuration loads it before Django's apps are ready)."""

from __future__ import annotations

import logging
import re

MASK = "••••••"

_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"(?i)(bearer\s+)[^\s\"',]+"),
    re.compile(
        r"(?i)(\b(?:access_token|refresh_token|id_token|client_secret|password|assertion)"
        r"[\"']?\s*[:=]\s*[\"']?|\bcode=)[^\s\"'&,}]+"
    ),
]


def _redact_patterns(text: str) -> str:
    text = _PATTERNS[0].sub(MASK, text)
    text = _PATTERNS[1].sub(lambda m: m.group(1) + MASK, text)
    return _PATTERNS[2].sub(lambda m: m.group(1) + MASK, text)


class SecretRedactingFilter(logging.Filter):
    """Scrubs credential-shaped text (bearer tokens, ``access_token=...``, private keys) from
    log records. Reference it from ``LOGGING`` as
    ``{"()": "integration.log_filters.SecretRedactingFilter"}``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logged as it is
            return True
        cleaned = _redact_patterns(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
