"""Audit Action parent and the audit details it receives, as the real SDK imports it."""

from q2ext.handlers.audit_action import AuditDetails, Q2AuditActionRequestHandler

__all__ = ["AuditDetails", "Q2AuditActionRequestHandler"]
