"""What the builders of every service family share: the run context, its session and their clients."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from app.runtime.pipeline import RunContext


def policy_document(*statements: Mapping[str, Any]) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


class Builders:
    """The base of each family's builders. :class:`app.runtime.infra.Infra` composes the families, so a
    builder may call another family's (``self.role``, ``self.queue``...)."""

    ctx: "RunContext"
    session: Any

    def _client(self, service: str, region: str | None = None):
        return self.session.clients.client(service, region)
