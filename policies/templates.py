"""Policy templates: the owners' usual rules as parameterised functions returning policies.

Each returns an `Offer` in tsunagu's profile (it passes `policies.profile.check_policy`):

- `disaster_response`: municipalities of a river basin, for disaster response (or a narrower
  purpose), optionally only while a flood alert of some level is in force;
- `commercial_contract`: one participant, a period, a number of requests, a price, and no
  onward transfer;
- `open_data`: anyone, any use, with attribution (CC BY 4.0);
- `personal_data_under_consent`: named purposes (and recipients), consent obtained, no onward
  transfer; which rows are released is the consent records' business, not the policy's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from policies.errors import InvalidValue
from policies.model import (
    Constraint,
    FloodAlert,
    LiteralValue,
    Policy,
    Reference,
    Rule,
    format_timestamp,
)
from policies.profile import PROFILE_IRI
from policies.terms import XSD, Operator

DISASTER_RESPONSE = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"
CC_BY_4_0 = "https://creativecommons.org/licenses/by/4.0/"
"""The licence an `open_data` dataset states (dct:license) beside its policy."""

NO_ONWARD_TRANSFER = Rule("distribute")


def disaster_response(
    uid: str,
    *,
    basin: str,
    purpose: str = DISASTER_RESPONSE,
    alert_level: int | None = None,
    alert_area: str | None = None,
    role: str = "municipality",
) -> Policy:
    """Municipalities (`role`) lying in `basin`, for `purpose` or a narrower one; with
    `alert_level`, only while a flood alert of that level or higher is in force for
    `alert_area` (default: the basin)."""
    constraints = [
        Constraint("role", Operator.EQ, role),
        Constraint("spatial", Operator.IS_PART_OF, Reference(basin)),
        Constraint("purpose", Operator.IS_A, Reference(purpose)),
    ]
    if alert_level is not None:
        constraints.append(
            Constraint("event", Operator.EQ, FloodAlert(alert_level, alert_area or basin))
        )
    return Policy(
        kind="Offer",
        uid=uid,
        profile=(PROFILE_IRI,),
        permissions=(Rule("use", tuple(constraints)),),
        prohibitions=(NO_ONWARD_TRANSFER,),
    )


def commercial_contract(
    uid: str,
    *,
    participant: str,
    start: datetime,
    end: datetime,
    requests: int,
    price: Decimal | int | str,
    currency: str = "JPY",
) -> Policy:
    """`participant` (a DID) may use the data from `start` until (not including) `end`, at
    most `requests` times, paying `price` in `currency`; onward transfer is prohibited."""
    for name, instant in (("start", start), ("end", end)):
        if instant.utcoffset() is None:
            raise InvalidValue(f"the contract's {name} needs a time zone", path=f"/{name}")
    if end <= start:
        raise InvalidValue("the contract ends before it starts", path="/end")
    if requests < 1:
        raise InvalidValue("a contract allows at least one request", path="/requests")
    amount = Decimal(str(price))
    when = XSD + "dateTime"
    return Policy(
        kind="Offer",
        uid=uid,
        profile=(PROFILE_IRI,),
        permissions=(
            Rule(
                "use",
                (
                    Constraint("recipient", Operator.EQ, Reference(participant)),
                    Constraint(
                        "dateTime", Operator.GTEQ, LiteralValue(format_timestamp(start), when)
                    ),
                    Constraint("dateTime", Operator.LT, LiteralValue(format_timestamp(end), when)),
                    Constraint(
                        "count", Operator.LTEQ, LiteralValue(str(requests), XSD + "integer")
                    ),
                ),
                duties=(
                    Rule(
                        "compensate",
                        (
                            Constraint(
                                "payAmount",
                                Operator.EQ,
                                LiteralValue(str(amount), XSD + "decimal"),
                                unit=currency,
                            ),
                        ),
                    ),
                ),
            ),
        ),
        prohibitions=(NO_ONWARD_TRANSFER,),
    )


def open_data(uid: str) -> Policy:
    """Any use by anyone, onward transfer included, with attribution (CC BY 4.0)."""
    return Policy(
        kind="Offer",
        uid=uid,
        profile=(PROFILE_IRI,),
        permissions=(Rule("use", duties=(Rule("attribute"),)),),
    )


def personal_data_under_consent(
    uid: str, *, purposes: Sequence[str], recipients: Sequence[str] = ()
) -> Policy:
    """Use for one of `purposes` (by one of `recipients`, when given), with the data
    subjects' consent obtained; onward transfer is prohibited."""
    if not purposes:
        raise InvalidValue("personal data needs at least one purpose", path="/purposes")
    constraints = [Constraint("purpose", Operator.IS_ANY_OF, tuple(Reference(p) for p in purposes))]
    if recipients:
        constraints.append(
            Constraint("recipient", Operator.IS_ANY_OF, tuple(Reference(r) for r in recipients))
        )
    return Policy(
        kind="Offer",
        uid=uid,
        profile=(PROFILE_IRI,),
        permissions=(Rule("use", tuple(constraints), duties=(Rule("obtainConsent"),)),),
        prohibitions=(NO_ONWARD_TRANSFER,),
    )
