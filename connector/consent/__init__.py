"""Consent for personal data: the service behind the management API and the resident portal,
and the signed receipts every change yields."""
