"""The transfer formats tsunagu offers (a distribution's `format` in the catalogue and a
transfer request's `format`): the consumer pulls from the provider's data plane, or the
provider pushes to the consumer's sink."""

from __future__ import annotations

PULL = "HttpData-PULL"
PUSH = "HttpData-PUSH"
FORMATS = (PULL, PUSH)
