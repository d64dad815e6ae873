"""DSP 2025-1 process states (values are the DSP names, as ACK messages carry them).

They live apart from the state machines so that the message models (which carry a state in
their ACKs) and the machines (which map messages to events) can import them both ways.
"""

from __future__ import annotations

from enum import StrEnum


class NegotiationState(StrEnum):
    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"


class TransferState(StrEnum):
    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"
