"""The emails SES accepted for one session's account, read back from the backend.

SES has no API that returns a sent message (on AWS the recipient's mailbox is the only
copy). The embedded backend keeps every message it accepted; this module reads them
for the session's own account and region only, so a run sees its own mail and no
other visitor's. Against live AWS there is nothing to read back: :func:`sent_emails`
returns None and the caller says so.
"""
from __future__ import annotations

from typing import Any


def sent_emails(session, region: str | None = None) -> list[dict[str, Any]] | None:
    """Messages accepted by SES in the session's account: ``{message_id, source, to, subject, body}``."""
    if session.backend != "moto":
        return None
    from moto.ses.models import ses_backends

    backend = ses_backends[session.account_id][region or session.region]
    out = []
    for m in backend.sent_messages:
        dest = getattr(m, "destinations", {}) or {}
        out.append({"message_id": m.id, "source": m.source, "subject": getattr(m, "subject", ""),
                    "body": getattr(m, "body", ""), "to": list(dest.get("ToAddresses", []))})
    return out
