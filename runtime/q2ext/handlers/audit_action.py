"""Audit Action kind: receives the audit details of Online Banking events it subscribes to, and acts on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tornado.web

from .. import typed
from .base import Q2BaseRequestHandler


@dataclass(frozen=True)
class AuditDetails:
    """One audit event, with the fields of Q2's AuditDetails (q2_sdk.hq.models.audit_details), on self.audit_details.

    HQ posts it; locally a test or `curl` POSTs it as JSON. audit_id and audit_action are required, the rest
    default as HQ leaves them unset (-1 ids, empty strings). details is the event's detail document (an lxml
    element in Q2's SDK; here the JSON value as sent).
    """

    audit_id: int
    audit_action: str  # Q2_AuditAction.ShortName
    audit_uuid: str = ""
    start_date_time: str = ""
    workstation: str = ""
    ui_source_id: int = 1  # 1 = OLB, 3 = Backoffice, 8 = Q2API
    session_id: str = ""
    action_id: int = -1  # Q2_AuditAction.ID
    details: Any = None
    error_return_code: str | None = "0"
    client_address: str = ""
    hq_id: str = ""
    transaction_id: int = -1
    customer_id: int = -1
    user_id: int = -1
    user_logon_id: int = -1
    host_account_id: int = -1
    end_date_time: int | None = None
    zone_id: int = -1


class Q2AuditActionRequestHandler(Q2BaseRequestHandler):
    """POST an audit event as JSON; handle(audit) runs for the actions listed in AUDIT_ACTIONS.

    HQ sends audit events asynchronously, so an extension cannot change the banking workflow, only react.
    Answers: 200 {"status": "handled"}, 200 {"status": "ignored"} for an action not subscribed to,
    400 for a malformed event, 500 if handle() raised (HQ retries).
    """

    AUDIT_ACTIONS: tuple[str, ...] = ()  # Q2_AuditAction short names; empty means every action

    audit_details: AuditDetails | None = None

    async def handle(self, audit: AuditDetails) -> None:
        """Override: act on one audit event."""

    def subscribed(self, audit_action: str) -> bool:
        return not self.AUDIT_ACTIONS or audit_action in self.AUDIT_ACTIONS

    async def post(self, *args: Any, **kwargs: Any) -> None:
        try:
            audit = typed.from_json(AuditDetails, self.json_body(), "audit event")
        except ValueError as exc:
            raise tornado.web.HTTPError(400, reason=str(exc)) from None
        if not self.subscribed(audit.audit_action):
            self.write_json({"status": "ignored", "audit_id": audit.audit_id, "subscribed": list(self.AUDIT_ACTIONS)})
            return
        self.audit_details = audit
        await self.handle(audit)
        self.write_json({"status": "handled", "audit_id": audit.audit_id})
