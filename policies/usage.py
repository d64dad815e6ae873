"""Access-count limits: the one reading of an ODRL `count` constraint.

`count` limits how often the rule's action may be exercised (ODRL 2.2: "the numeric count of
executions of the action of the Rule"). It cannot be decided when an agreement is made, only
counted while it is used: the decision point accepts it as an obligation of the data plane,
and the data plane counts every access against it. Both read the constraint through
`access_limit`, so an offer the decision point accepts is exactly an offer the data plane
enforces, whatever JSON-LD spelling the number came in.

    count lteq N    at most N accesses
    count eq N      at most N accesses (a minimum number of uses cannot be enforced)
    count lt N      at most N - 1 accesses

N is a non-negative integer: a JSON number, a plain string of digits, or an `xsd:integer`
(or one of its non-negative subtypes) literal. Anything else is refused with a reason.
"""

from __future__ import annotations

import re

from policies.errors import PolicyError
from policies.model import Constraint, LiteralValue
from policies.terms import XSD, Operator

COUNT = "count"
LIMIT_OPERATORS = (Operator.LTEQ, Operator.EQ, Operator.LT)
_INTEGER_TYPES = frozenset(
    XSD + name
    for name in ("integer", "nonNegativeInteger", "positiveInteger", "int", "long", "short")
)
_DIGITS = re.compile(r"[0-9]{1,18}")


def access_limit(constraint: Constraint) -> int:
    """How many accesses a `count` constraint allows (PolicyError when it is no limit)."""
    if constraint.left_operand != COUNT:
        raise PolicyError(f"{constraint.left_operand!r} is not an access count", code="not_a_count")
    if constraint.operator not in LIMIT_OPERATORS:
        raise PolicyError(
            f"operator {constraint.operator.value!r} is not supported for 'count': only an "
            "upper limit (lteq, lt, eq) can be counted at each access",
            code="unsupported_count",
        )
    number = _integer(constraint.right_operand)
    if number is None:
        raise PolicyError(
            "the right operand of 'count' must be one non-negative integer",
            code="unsupported_count",
        )
    limit = number - 1 if constraint.operator is Operator.LT else number
    if limit < 0:
        raise PolicyError("'count lt 0' allows nothing at all", code="unsupported_count")
    return limit


def _integer(operand: object) -> int | None:
    if isinstance(operand, LiteralValue):
        if operand.datatype is not None and operand.datatype not in _INTEGER_TYPES:
            return None
        operand = operand.value
    if isinstance(operand, str) and _DIGITS.fullmatch(operand):
        return int(operand)
    return None
