"""Errors of the audit log. Each has a short snake_case `code`; the API maps them to 400.

    AuditError          root (under ConnectorError)
     +-- ProofError     an inclusion or consistency proof does not verify, or cannot be made
     +-- CheckpointError a signed note or checkpoint is malformed, mis-signed or foreign
     +-- EntryError     an entry cannot be canonicalised or read back
     +-- ReceiptError   a peer's receipt is malformed, mis-signed or not about us

Codes in use:

    proof_malformed, proof_invalid, proof_bad_size,
    note_malformed, note_bad_base64, note_unknown_key, note_bad_signature, note_too_many,
    checkpoint_malformed, checkpoint_wrong_origin,
    entry_not_canonical, entry_malformed,
    receipt_malformed, receipt_invalid, receipt_not_ours, receipt_not_theirs,
    receipt_not_an_exchange, receipt_unknown_process, receipt_conflict, receipt_unavailable
"""

from __future__ import annotations

from connector.errors import ConnectorError

__all__ = ["AuditError", "CheckpointError", "EntryError", "ProofError", "ReceiptError"]


class AuditError(ConnectorError):
    code = "audit_error"
    status = 400


class ProofError(AuditError):
    code = "proof_invalid"


class CheckpointError(AuditError):
    code = "checkpoint_malformed"


class EntryError(AuditError):
    code = "entry_malformed"


class ReceiptError(AuditError):
    code = "receipt_invalid"
