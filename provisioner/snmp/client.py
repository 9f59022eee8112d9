"""GET, SET and table walks over pysnmp 7's asyncio API, bounded and with an end.

Three things pysnmp leaves to its caller (``docs/poe.md``, 'pysnmp pitfalls'): its
``bulk_walk_cmd`` never stops on a timeout (lextudio/pysnmp#66), so walks here are our own
GETBULK loop that stops at the end of each column and on the first error; one engine's single
UDP socket overflows past about 100 requests in flight, so a semaphore bounds them; and MIB
lookups double the cost, so OIDs are numeric and values plain ``int``/``bytes``/``str``. The
hlapi's commands resolve every requested OID through a MIB view even with ``lookupMib=False``
(a sixth of a walk's CPU, and a MIB compiler set up on first use), so requests go through
pysnmp's native command generators with the local configuration the hlapi would make.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pyasn1.type import univ
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    usmAesCfb128Protocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto import rfc1902, rfc1905

from provisioner.snmp.errors import SnmpError, SnmpTimeout

Value = int | bytes | str | None
Table = dict[tuple[int, ...], Value]  # index after the column's OID -> value

MAX_VARBINDS = 60  # per request: snmpsim answers at most 64, small switches less
MAX_IN_FLIGHT = 64  # per engine, below the ~100 where its socket starts dropping answers
_LCD = CommandGeneratorLcdConfigurator()
_GET, _SET, _BULK = (
    cmdgen.GetCommandGenerator(),
    cmdgen.SetCommandGenerator(),
    cmdgen.BulkCommandGenerator(),
)


@dataclass(frozen=True)
class Credentials:
    """v2c: ``community``; v3: ``user`` with SHA ``auth_key`` and AES-128 ``priv_key``."""

    version: str
    community: str = ""
    user: str = ""
    auth_key: str = ""
    priv_key: str = ""
    context: str = ""

    def __repr__(self) -> str:  # never a secret in a log line or a traceback
        who = f"user={self.user!r}" if self.version == "3" else "community=***"
        return f"Credentials(v{self.version}, {who}, context={self.context!r})"


@dataclass(frozen=True)
class Agent:
    host: str
    port: int
    credentials: Credentials
    timeout: float = 2.0
    retries: int = 1

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def plain(value: Any) -> Value:
    """A pyasn1 value as Python: None for noSuchObject/noSuchInstance/endOfMibView."""
    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView):
        return None
    if isinstance(value, univ.OctetString):  # IpAddress and Opaque too
        return bytes(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    return int(value)


class SnmpClient:
    """One pysnmp engine for one event loop; create it inside the loop that uses it."""

    def __init__(self, max_in_flight: int = MAX_IN_FLIGHT, max_varbinds: int = MAX_VARBINDS):
        self._engine = SnmpEngine()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._max_varbinds = max_varbinds
        self._targets: dict[tuple[str, int, float, int], UdpTransportTarget] = {}

    def close(self) -> None:
        self._engine.close_dispatcher()

    async def _transport(self, agent: Agent) -> UdpTransportTarget:
        key = (agent.host, agent.port, agent.timeout, agent.retries)
        if key not in self._targets:
            self._targets[key] = await UdpTransportTarget.create(
                (agent.host, agent.port), timeout=agent.timeout, retries=agent.retries
            )
        return self._targets[key]

    @staticmethod
    def _auth(credentials: Credentials) -> CommunityData | UsmUserData:
        if credentials.version == "3":
            return UsmUserData(
                credentials.user,
                authKey=credentials.auth_key,
                privKey=credentials.priv_key,
                authProtocol=usmHMACSHAAuthProtocol,
                privProtocol=usmAesCfb128Protocol,
            )
        # v2c where a switch has nothing better; the community is encrypted at rest.
        return CommunityData(credentials.community, mpModel=1)  # noqa: S508

    async def _request(
        self, agent: Agent, generator: Any, varbinds: list[tuple[Any, Any]], *bulk: int
    ) -> Sequence[Any]:
        """Send one request (``bulk``: non-repeaters and max-repetitions) and wait for it."""
        transport = await self._transport(agent)
        future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

        def answered(_engine: Any, _handle: Any, *answer: Any) -> None:
            if not future.cancelled():
                future.set_result(answer[:4])  # indication, status, index, varbinds

        context = agent.credentials.context
        async with self._slots:
            target, _ = _LCD.configure(
                self._engine, self._auth(agent.credentials), transport, context
            )
            generator.send_varbinds(self._engine, target, None, context, *bulk, varbinds, answered)
            answer = await future
        return _checked(agent, *answer)

    async def get(self, agent: Agent, oids: Iterable[str]) -> list[Value]:
        request = [(rfc1902.ObjectName(oid), rfc1902.Null("")) for oid in oids]
        return [plain(value) for _, value in await self._request(agent, _GET, request)]

    async def set_int(self, agent: Agent, oid: str, value: int) -> None:
        """SET an INTEGER and check what came back (snmpsim answers a refused SET with a
        noSuchInstance varbind rather than an error status)."""
        request = [(rfc1902.ObjectName(oid), rfc1902.Integer32(value))]
        ((_, answer),) = await self._request(agent, _SET, request)
        if plain(answer) != value:
            raise SnmpError(f"{agent}: SET {oid} = {value} was not taken (answer {answer!r})")

    async def walk(self, agent: Agent, columns: Sequence[str]) -> dict[str, Table]:
        """Walk several columns together with GETBULK; each stops at its own end.

        A column the agent does not have comes back empty. Any timeout or error status ends
        the whole walk with an exception: half a table must not pass for the table.
        """
        found: dict[str, Table] = {column: {} for column in columns}
        prefixes = {column: rfc1902.ObjectName(column) for column in columns}
        cursor = {column: prefixes[column] for column in columns}
        while cursor:
            active = list(cursor)
            repetitions = max(1, self._max_varbinds // len(active))
            request = [(cursor[column], rfc1902.Null("")) for column in active]
            varbinds = await self._request(agent, _BULK, request, 0, repetitions)
            if not varbinds:
                raise SnmpError(f"{agent}: an empty GETBULK answer")
            moved: set[str] = set()
            for position, (name, value) in enumerate(varbinds):
                column = active[position % len(active)]
                if column not in cursor:
                    continue
                prefix = prefixes[column]
                ended = isinstance(value, rfc1905.EndOfMibView) or not prefix.isPrefixOf(name)
                if ended or name <= cursor[column]:  # the end, or an agent going round
                    del cursor[column]
                    continue
                found[column][tuple(name)[len(prefix) :]] = plain(value)
                cursor[column] = name
                moved.add(column)
            for column in set(cursor) - moved:  # answered nothing new: treat as the end
                del cursor[column]
        return found


def _checked(
    agent: Agent, indication: Any, status: Any, index: Any, varbinds: Any
) -> Sequence[Any]:
    if indication:
        raise SnmpTimeout(f"{agent}: {indication}")
    if status:
        raise SnmpError(f"{agent}: {status.prettyPrint()} at varbind {int(index)}")
    return cast(Sequence[Any], varbinds)  # pysnmp ships no types
