"""Errors of the ODRL policy package."""


class PolicyError(Exception):
    """Root of every error raised by `policies`; `code` is short and machine-readable."""

    code = "policy_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)
