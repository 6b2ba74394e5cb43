"""AuditDetails under the path of Q2's docs (q2_sdk.hq.models.audit_details)."""

from q2ext.handlers.audit_action import AuditDetails

__all__ = ["AuditDetails"]
