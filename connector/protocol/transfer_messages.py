"""Transfer Process messages (DSP 2025-1 section 6.5), the data address, ACK and error objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from connector.errors import MessageError
from connector.protocol.base import (
    PIDS,
    CodeAndReasonMessage,
    Fields,
    Message,
    PidPairMessage,
    Prop,
    check_callback,
    enum,
    text,
)
from connector.protocol.identifiers import MAX_ADDRESS
from connector.protocol.states import TransferState


@dataclass(frozen=True)
class EndpointProperty:
    """One `endpointProperties` entry; well-known names: `authorization`, `authType`."""

    name: str
    value: str

    def to_json(self) -> dict[str, Any]:
        return {"@type": "EndpointProperty", "name": self.name, "value": self.value}


@dataclass(frozen=True, kw_only=True)
class DataAddress:
    """Where and how to reach the data: in the start message for pull, the request for push."""

    endpoint_type: str
    endpoint: str | None = None
    endpoint_properties: tuple[EndpointProperty, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "endpoint_properties", tuple(self.endpoint_properties))

    def property(self, name: str) -> str | None:
        """The value of the first endpoint property called `name`, if any."""
        return next((p.value for p in self.endpoint_properties if p.name == name), None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": "DataAddress", "endpointType": self.endpoint_type}
        if self.endpoint is not None:
            out["endpoint"] = self.endpoint
        if self.endpoint_properties:  # the schema wants >= 1 item when present
            out["endpointProperties"] = [p.to_json() for p in self.endpoint_properties]
        return out

    @classmethod
    def from_json(cls, data: object, *, where: str = "dataAddress") -> DataAddress:
        """Read a data address (e.g. one stored earlier with `to_json`); `MessageError` if bad."""
        if not isinstance(data, Mapping):
            raise MessageError(f"{where} must be an object", code="invalid_field")
        fields = Fields(data, where)
        kind = fields.optional_string("@type")
        if kind not in (None, "DataAddress"):
            raise MessageError(
                f"{where}: @type must be 'DataAddress', got {kind!r}", code="invalid_field"
            )
        properties = []
        for i, item in enumerate(fields.array("endpointProperties")):
            if not isinstance(item, Mapping):
                raise MessageError(
                    f"{where}: endpointProperties[{i}] must be an object", code="invalid_field"
                )
            entry = Fields(item, f"{where}.endpointProperties[{i}]")
            properties.append(EndpointProperty(entry.string("name"), entry.string("value")))
        return cls(
            endpoint_type=fields.string("endpointType"),
            endpoint=fields.optional_identifier("endpoint", limit=MAX_ADDRESS),
            endpoint_properties=tuple(properties),
        )


def _read_data_address(fields: Fields, name: str) -> DataAddress | None:
    data = fields.optional_object(name)
    return None if data is None else DataAddress.from_json(data, where=f"{fields.where}: {name}")


DATA_ADDRESS = Prop(
    "dataAddress",
    _read_data_address,
    lambda address: address.to_json(),
    shape={"type": "object", "description": "a DSP DataAddress"},
)


@dataclass(frozen=True, kw_only=True)
class TransferRequestMessage(Message):
    """Consumer -> provider; `data_address` only for push transfers."""

    TYPE: ClassVar[str] = "TransferRequestMessage"
    WIRE: ClassVar[tuple[Prop, ...]] = (
        text("consumerPid"),
        text("agreementId"),
        text("format"),
        DATA_ADDRESS,
        text("callbackAddress"),
    )
    consumer_pid: str
    agreement_id: str
    format: str
    callback_address: str
    data_address: DataAddress | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_callback(self.callback_address, self.TYPE)


@dataclass(frozen=True, kw_only=True)
class TransferStartMessage(Message):
    """Provider -> consumer (start, or resume after suspension by either side); `data_address`
    is required for pull transfers, which the control plane checks (it knows the format)."""

    TYPE: ClassVar[str] = "TransferStartMessage"
    WIRE: ClassVar[tuple[Prop, ...]] = (*PIDS, DATA_ADDRESS)
    provider_pid: str
    consumer_pid: str
    data_address: DataAddress | None = None


@dataclass(frozen=True, kw_only=True)
class TransferCompletionMessage(PidPairMessage):
    TYPE: ClassVar[str] = "TransferCompletionMessage"


@dataclass(frozen=True, kw_only=True)
class TransferSuspensionMessage(CodeAndReasonMessage):
    TYPE: ClassVar[str] = "TransferSuspensionMessage"


@dataclass(frozen=True, kw_only=True)
class TransferTerminationMessage(CodeAndReasonMessage):
    TYPE: ClassVar[str] = "TransferTerminationMessage"


@dataclass(frozen=True, kw_only=True)
class TransferError(CodeAndReasonMessage):
    TYPE: ClassVar[str] = "TransferError"


@dataclass(frozen=True, kw_only=True)
class TransferProcess(Message):
    """The ACK: where a transfer stands."""

    TYPE: ClassVar[str] = "TransferProcess"
    WIRE: ClassVar[tuple[Prop, ...]] = (*PIDS, enum("state", TransferState))
    provider_pid: str
    consumer_pid: str
    state: TransferState


TransferMessage = (
    TransferRequestMessage
    | TransferStartMessage
    | TransferSuspensionMessage
    | TransferCompletionMessage
    | TransferTerminationMessage
)
"""The messages that move a transfer (ACK and error objects do not)."""
