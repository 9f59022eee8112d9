"""A JSON-RPC 2.0 client for Kamailio's jsonrpcs module over its unix datagram socket."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import tempfile
from pathlib import Path

_ids = itertools.count(1)
_CONFIRMED = 4  # Kamailio dialog state: answered and ACKed


class RPCError(RuntimeError):
    """Kamailio did not answer, or answered with an error (the message says which)."""


class KamailioRPC:
    def __init__(self, socket_path: Path, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def call(self, method: str, *params: str | int) -> object:
        request = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": next(_ids)}
        # A datagram reply needs an address to come back to: a socket file of our own, beside
        # Kamailio's (same directory, so the same permissions apply).
        reply_path = Path(
            tempfile.mktemp(prefix="rpc-", suffix=".sock", dir=self.socket_path.parent)  # noqa: S306
        )
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(str(reply_path))
                sock.settimeout(self.timeout)
                sock.sendto(json.dumps(request).encode(), str(self.socket_path))
                data = sock.recv(1 << 20)
            except OSError as exc:
                raise RPCError(f"Kamailio JSON-RPC at {self.socket_path}: {exc}") from exc
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(reply_path)
        try:
            reply = json.loads(data)
        except json.JSONDecodeError as exc:
            raise RPCError(f"Kamailio answered {method} with something not JSON") from exc
        if "error" in reply:
            error = reply["error"]
            raise RPCError(f"{method}: {error.get('message', error)}")
        return reply.get("result")

    def htable_set(self, table: str, key: str, value: str | int) -> None:
        if isinstance(value, int):
            self.call("htable.seti", table, key, value)
        else:
            self.call("htable.sets", table, key, value)

    def htable_get(self, table: str, key: str) -> object:
        result = self.call("htable.get", table, key)
        return result.get("item", {}).get("value") if isinstance(result, dict) else None

    def channels_in_use(self) -> int:
        result = self.call("dlg.profile_get_size", "channels")
        if isinstance(result, dict):
            return int(result.get("value", 0))
        return int(str(result))

    def answered_calls(self) -> list[dict[str, object]]:
        """The dialogs that are answered and ACKed (Kamailio dialog state 4)."""
        dialogs = self.call("dlg.list")
        if not isinstance(dialogs, list):
            return []
        return [d for d in dialogs if isinstance(d, dict) and d.get("state") == _CONFIRMED]

    def hang_up(self, dialog: dict[str, object]) -> None:
        """BYE to both sides of ``dialog`` (one of :meth:`answered_calls`)."""
        self.call("dlg.end_dlg", int(str(dialog["h_entry"])), int(str(dialog["h_id"])))

    def cores(self) -> list[dict[str, str]]:
        """Each PBX core's URI and dispatcher state (AP active, IP inactive-probing, ...)."""
        result = self.call("dispatcher.list")
        found: list[dict[str, str]] = []
        if not isinstance(result, dict):
            return found
        for record in result.get("RECORDS", []):
            for target in record.get("SET", {}).get("TARGETS", []):
                dest = target.get("DEST", {})
                found.append({"uri": dest.get("URI", ""), "flags": dest.get("FLAGS", "")})
        return found
