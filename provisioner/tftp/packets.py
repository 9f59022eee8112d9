"""TFTP packet codec (RFC 1350, options RFC 2347).

Own codec rather than tftpy's: decoding is strict and fails with one exception type whose message
says what was wrong, so the server can answer garbage with an ERROR instead of crashing.
"""

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

_OPCODE = struct.Struct("!H")
_HEADER = struct.Struct("!HH")


class Opcode(IntEnum):
    RRQ = 1
    WRQ = 2
    DATA = 3
    ACK = 4
    ERROR = 5
    OACK = 6


class ErrorCode(IntEnum):
    NOT_DEFINED = 0
    FILE_NOT_FOUND = 1
    ACCESS_VIOLATION = 2
    DISK_FULL = 3
    ILLEGAL_OPERATION = 4
    UNKNOWN_TID = 5
    FILE_EXISTS = 6
    NO_SUCH_USER = 7
    OPTION_REFUSED = 8


class MalformedPacket(ValueError):
    """The datagram is not a well-formed TFTP packet; the message says why."""


@dataclass(frozen=True, slots=True)
class Request:
    """RRQ or WRQ. The file name stays bytes: deciding which names are acceptable is policy."""

    opcode: Opcode
    filename: bytes
    mode: str
    options: dict[str, str]


@dataclass(frozen=True, slots=True)
class Data:
    block: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Ack:
    block: int


@dataclass(frozen=True, slots=True)
class Error:
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class OAck:
    options: dict[str, str]


Packet = Request | Data | Ack | Error | OAck


def decode(datagram: bytes) -> Packet:
    """Parse one datagram; raises MalformedPacket for anything that is not a valid packet."""
    if len(datagram) < _OPCODE.size:
        raise MalformedPacket(f"{len(datagram)}-byte datagram is too short for an opcode")
    (opcode,) = _OPCODE.unpack_from(datagram)
    body = datagram[_OPCODE.size :]
    if opcode in (Opcode.RRQ, Opcode.WRQ):
        return _decode_request(Opcode(opcode), body)
    if opcode == Opcode.OACK:
        return OAck(_decode_options(_strings(body)))
    if len(body) < 2:
        raise MalformedPacket(f"opcode {opcode} packet is too short")
    (number,) = _OPCODE.unpack_from(body)
    if opcode == Opcode.DATA:
        return Data(number, body[2:])
    if opcode == Opcode.ACK:
        # Bytes after the block number are ignored, as tftpd-hpa does.
        return Ack(number)
    if opcode == Opcode.ERROR:
        # Lenient on purpose: an ERROR ends the exchange either way and is never answered.
        text = body[2:].split(b"\0", 1)[0]
        return Error(number, text.decode("utf-8", "replace"))
    raise MalformedPacket(f"unknown opcode {opcode}")


def _strings(body: bytes) -> list[bytes]:
    if not body.endswith(b"\0"):
        raise MalformedPacket("missing NUL terminator")
    return body[:-1].split(b"\0")


def _decode_request(opcode: Opcode, body: bytes) -> Request:
    fields = _strings(body)
    if len(fields) < 2:
        raise MalformedPacket("request needs a file name and a mode")
    filename, mode, *options = fields
    if not filename:
        raise MalformedPacket("empty file name")
    try:
        mode_text = mode.decode("ascii").lower()
    except UnicodeDecodeError:
        raise MalformedPacket("mode is not ASCII") from None
    return Request(opcode, filename, mode_text, _decode_options(options))


def _decode_options(fields: list[bytes]) -> dict[str, str]:
    """Names are case-insensitive (RFC 2347). Latin-1 never fails: odd values are judged later."""
    if len(fields) % 2:
        raise MalformedPacket("option without a value")
    options: dict[str, str] = {}
    for raw_name, raw_value in zip(fields[::2], fields[1::2], strict=True):
        name = raw_name.decode("latin-1").lower()
        if not name:
            raise MalformedPacket("empty option name")
        if name in options:
            raise MalformedPacket(f"duplicate option {name!r}")
        options[name] = raw_value.decode("latin-1")
    return options


def _encode_options(options: Mapping[str, object]) -> bytes:
    return b"".join(f"{name}\0{value}\0".encode("latin-1") for name, value in options.items())


def encode_request(
    opcode: Opcode,
    filename: bytes | str,
    mode: str = "octet",
    options: Mapping[str, object] | None = None,
) -> bytes:
    name = filename.encode() if isinstance(filename, str) else filename
    return (
        _OPCODE.pack(opcode) + name + b"\0" + mode.encode() + b"\0" + _encode_options(options or {})
    )


def encode_data(block: int, payload: bytes | memoryview) -> bytes:
    """Block numbers wrap from 65535 to 0, as curl, atftp and tftpd-hpa expect."""
    return _HEADER.pack(Opcode.DATA, block & 0xFFFF) + payload


def encode_ack(block: int) -> bytes:
    return _HEADER.pack(Opcode.ACK, block & 0xFFFF)


def encode_error(code: int, message: str) -> bytes:
    text = message.replace("\0", " ").encode("ascii", "replace")
    return _HEADER.pack(Opcode.ERROR, code) + text + b"\0"


def encode_oack(options: Mapping[str, object]) -> bytes:
    return _OPCODE.pack(Opcode.OACK) + _encode_options(options)
