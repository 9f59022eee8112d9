"""The media relay (rtpengine) seen from the control plane: is it up, which calls have media.

rtpengine gives up a call after ``--timeout`` seconds without RTP, but nothing tells Kamailio:
its dialog, and the licence channel, would stay until the maximum call duration. The
:func:`end_calls_without_media` sweep closes that gap by ending (BYE both ways) every confirmed
dialog whose call rtpengine no longer knows.
"""

from __future__ import annotations

import logging
import secrets
import socket
import time

import bencodepy

from gateway32.rpc import KamailioRPC, RPCError

log = logging.getLogger("gateway32")


class MediaRelayError(RuntimeError):
    """rtpengine did not answer its control protocol."""


class Rtpengine:
    """rtpengine's ng control protocol (bencoded dictionaries over UDP, a cookie per request)."""

    def __init__(self, address: str, timeout: float = 2.0) -> None:
        host, _, port = address.rpartition(":")
        self.address = (host, int(port))
        self.timeout = timeout

    def command(self, name: str, **arguments: object) -> dict[bytes, object]:
        cookie = secrets.token_hex(6).encode()
        request = cookie + b" " + bencodepy.encode({"command": name, **arguments})
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout)
            try:
                sock.sendto(request, self.address)
                while True:
                    data = sock.recv(1 << 20)
                    if data.startswith(cookie + b" "):
                        break
            except OSError as exc:
                raise MediaRelayError(f"rtpengine at {self.address}: {exc}") from exc
        try:
            reply = bencodepy.decode(data[len(cookie) + 1 :])
        except bencodepy.BencodeDecodeError as exc:
            raise MediaRelayError("rtpengine answered with something not bencoded") from exc
        if not isinstance(reply, dict) or reply.get(b"result") not in (b"ok", b"pong"):
            raise MediaRelayError(f"rtpengine refused {name}: {reply!r}")
        return reply

    def ping(self) -> None:
        self.command("ping")

    def call_ids(self) -> set[str]:
        reply = self.command("list", limit=100000)
        calls = reply.get(b"calls", [])
        return (
            {c.decode() for c in calls if isinstance(c, bytes)}
            if isinstance(calls, list)
            else set()
        )

    def wait_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.ping()
                return
            except MediaRelayError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def end_calls_without_media(rpc: KamailioRPC, relay: Rtpengine, grace: float) -> list[str]:
    """End answered calls older than ``grace`` seconds that rtpengine dropped; their Call-IDs."""
    dialogs = rpc.answered_calls()
    with_media = relay.call_ids()  # after the dialog list: a call set up in between is not ended
    now = time.time()
    ended = []
    for dialog in dialogs:
        call_id = str(dialog.get("call-id", ""))
        if call_id in with_media or now - float(str(dialog.get("start_ts", now))) < grace:
            continue
        try:
            rpc.hang_up(dialog)
        except RPCError as exc:  # it may have ended by itself meanwhile
            log.info("media timeout: dialog %s already gone (%s)", call_id, exc)
            continue
        log.info("media timeout: call %s had no RTP, hung up both ways", call_id)
        ended.append(call_id)
    return ended
