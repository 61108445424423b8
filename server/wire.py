"""Request parsing that turns undecodable bytes into a clear INVALID_ARGUMENT instead of UNKNOWN.

gRPC's default deserializer raises on bytes that are not a valid message (most often a string field
holding invalid UTF-8, sent by a non-Python client), and grpcio answers that with ``UNKNOWN``.
:func:`safe_deserializer` returns an :class:`UndecodableRequest` instead, whose message names the
offending field; the servicer answers it with INVALID_ARGUMENT. To name the field, the bytes are
parsed again with a *lenient* copy of the schema in which every ``string`` is ``bytes``, and each
string is checked for UTF-8 (this only runs on the error path).

The same parser enforces ``--max-request-bytes``: a request with more bytes becomes an
:class:`OversizedRequest`, answered with RESOURCE_EXHAUSTED, before any parsing. Were it left to
gRPC's own limit, the call would be refused before any code of ours ran, and so would be missing
from the request log and the metrics. gRPC's limit stays as a ceiling at twice ours
(:func:`grpc_receive_limit`): past it, gRPC refuses the call unseen, without buffering it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from splitinfer.v1 import inference_pb2

_PACKAGE = inference_pb2.DESCRIPTOR.package
_LENIENT_PACKAGE = _PACKAGE + ".lenient"
# gRPC's message size options are C ints.
_GRPC_MAX_BYTES = 2**31 - 1


@dataclass(frozen=True)
class UndecodableRequest:
    """Stands in for a request whose bytes did not parse; ``message`` says why, for the caller."""

    message: str


@dataclass(frozen=True)
class OversizedRequest:
    """Stands in for a request of more than ``--max-request-bytes``; ``message`` says so, for the caller."""

    message: str


def grpc_receive_limit(max_request_bytes: int) -> int:
    """gRPC's own receive limit: twice ours, so that oversized requests up to there reach
    :func:`safe_deserializer` and are logged and counted, while a client still cannot make the
    server buffer much more than it would for the largest request it accepts."""
    return min(_GRPC_MAX_BYTES, 2 * max_request_bytes)


def safe_deserializer(message_class: type[Message], max_bytes: int) -> Callable[[bytes], Any]:
    """``message_class.FromString`` that returns :class:`UndecodableRequest` rather than raising,
    and :class:`OversizedRequest` for more than ``max_bytes`` bytes."""
    parse = message_class.FromString

    def deserialize(data: bytes) -> Any:
        if len(data) > max_bytes:
            # "larger than max" as in gRPC's own message: clients recognise the error by it.
            return OversizedRequest(
                f"the request is {len(data)} bytes, larger than max ({max_bytes}, the server's "
                "--max-request-bytes); send less: condense the context harder or split it"
            )
        try:
            return parse(data)
        except DecodeError as err:
            return UndecodableRequest(_diagnose(message_class, data, err))

    return deserialize


def _diagnose(message_class: type[Message], data: bytes, err: DecodeError) -> str:
    full_name = message_class.DESCRIPTOR.full_name
    if message_class.DESCRIPTOR.file.package != _PACKAGE:
        # A message of grpcio's own services (health, reflection): no lenient copy to name a field.
        return f"the request is not a valid {full_name} message ({err})"
    try:
        lenient = _lenient_class(message_class.DESCRIPTOR.name).FromString(data)
    except DecodeError:
        return (
            f"the request is not a valid {full_name} message ({err}); "
            "check that the client was generated from the splitinfer.v1 protos"
        )
    bad = _first_bad_utf8(lenient, "")
    if bad is None:
        return f"the request is not a valid {full_name} message ({err})"
    path, offset, byte = bad
    return (
        f"{path} is not valid UTF-8 (byte 0x{byte:02x} at offset {offset}); "
        "string fields must be UTF-8 text: encode it as UTF-8 before sending"
    )


def _first_bad_utf8(message: Message, path: str) -> tuple[str, int, int] | None:
    for fd, value in message.ListFields():
        where = f"{path}.{fd.name}" if path else fd.name
        values = list(value) if _is_repeated(fd) else [value]
        for i, item in enumerate(values):
            item_path = f"{where}[{i}]" if _is_repeated(fd) else where
            if fd.type == FieldDescriptor.TYPE_MESSAGE:
                found = _first_bad_utf8(item, item_path)
                if found:
                    return found
            elif fd.type == FieldDescriptor.TYPE_BYTES and fd.name in _string_fields(message.DESCRIPTOR.name):
                try:
                    item.decode("utf-8")
                except UnicodeDecodeError as bad:
                    return item_path, bad.start, item[bad.start]
    return None


def _is_repeated(fd: FieldDescriptor) -> bool:
    return bool(fd.is_repeated) if hasattr(fd, "is_repeated") else fd.label == FieldDescriptor.LABEL_REPEATED


@functools.cache
def _string_fields(message_name: str) -> frozenset[str]:
    """Names of the fields that are ``string`` in the real schema (the lenient copy made them bytes)."""
    descriptor = inference_pb2.DESCRIPTOR.message_types_by_name[message_name]
    return frozenset(f.name for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING)


@functools.cache
def _lenient_pool() -> descriptor_pool.DescriptorPool:
    proto = descriptor_pb2.FileDescriptorProto()
    inference_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name = "splitinfer/v1/lenient_inference.proto"
    proto.package = _LENIENT_PACKAGE
    proto.ClearField("service")
    proto.ClearField("options")
    for message in proto.message_type:
        for fd in message.field:
            if fd.type == descriptor_pb2.FieldDescriptorProto.TYPE_STRING:
                fd.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
            if fd.type_name.startswith(f".{_PACKAGE}."):
                fd.type_name = f".{_LENIENT_PACKAGE}." + fd.type_name[len(_PACKAGE) + 2 :]
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return pool


@functools.cache
def _lenient_class(message_name: str) -> type[Message]:
    descriptor = _lenient_pool().FindMessageTypeByName(f"{_LENIENT_PACKAGE}.{message_name}")
    return message_factory.GetMessageClass(descriptor)
