"""Errors of the ODRL policy package.

Every error can name the place it is about as a JSON-pointer-like `path`
(`/permission/0/constraint/1/rightOperand`), so an operator writing a policy sees what to fix.
"""


class PolicyError(Exception):
    """Root of every error raised by `policies`; `code` is short and machine-readable."""

    code = "policy_error"

    def __init__(self, message: str, *, code: str | None = None, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        if code is not None:
            self.code = code
        self.path = path
        self.detail = message

    @property
    def message(self) -> str:
        return str(self)


class MalformedPolicy(PolicyError):
    """The JSON is not an ODRL policy this package can read."""

    code = "malformed_policy"


class PolicyTooLarge(PolicyError):
    """More rules, constraints, values or nesting than the bounds allow."""

    code = "policy_too_large"


class ConstraintCycle(PolicyError):
    """Constraints that refer to each other in a loop."""

    code = "constraint_cycle"


class UnknownTerm(PolicyError):
    """A term (action, left operand, operator) that tsunagu's policy profile does not define."""

    code = "unknown_term"

    def __init__(self, message: str, *, term: str, path: str = "", code: str | None = None) -> None:
        super().__init__(message, code=code, path=path)
        self.term = term


class InvalidValue(PolicyError):
    """A right operand of the wrong type or form for its left operand and operator."""

    code = "invalid_value"
