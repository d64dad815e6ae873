"""Errors of the shared vocabulary package."""


class VocabError(Exception):
    """Root of every error raised by `vocab`; `code` is short and machine-readable."""

    code = "vocab_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)
