"""The TFTP packet codec on its own: round trips and block-number wrap-around."""

from provisioner.tftp.packets import (
    Ack,
    Data,
    Error,
    Opcode,
    Request,
    decode,
    encode_ack,
    encode_data,
    encode_error,
    encode_request,
)

IN_DIR = "Grandstream/cfg000b82aabbcc.xml"


def test_codec_round_trips_and_wraps_block_numbers() -> None:
    request = encode_request(Opcode.RRQ, IN_DIR, "octet", {"blksize": 1468})
    assert request == b"\x00\x01Grandstream/cfg000b82aabbcc.xml\x00octet\x00blksize\x001468\x00"
    assert decode(request) == Request(Opcode.RRQ, IN_DIR.encode(), "octet", {"blksize": "1468"})
    assert decode(encode_data(65_536 + 5, b"x")) == Data(5, b"x")
    assert decode(encode_ack(65_535)) == Ack(65_535)
    assert encode_error(1, "bad\0name") == b"\x00\x05\x00\x01bad name\x00"
    assert decode(b"\x00\x05\x00\x08no terminator") == Error(8, "no terminator")
