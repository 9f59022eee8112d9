"""Admission, the first stage: what a locked-out source may still ask, before any work is done.

Refusals are charged here too, so what an attacker's guesses cost and what locks it out are
decided in one place. The bench is neither checked nor charged: its devices are ours, on our
own network.

Who can be locked out, and by whom (docs/security.md, "Lockouts and rate limits"):

- Sources are counted by :func:`lockout_key`: an IPv4 address, an IPv6 /64.
- A TFTP request arrives over UDP, whose source address anyone can forge. What it earns
  locks that address out of TFTP only, in this process, for the period: it is never
  published to the shared table, so forged datagrams never deny HTTP, which a TCP
  handshake proves comes from the address.
- A lockout refuses what a source asks without proof, never proof itself: a locked source
  still gets the Digest challenge for a device's file (the same for every MAC, so it
  reveals nothing), and a correct answer is served. One host behind an office's NAT cannot
  lock the office's honest phones out.
- Wrong answers are counted per claimed username too, whatever address they come from
  (an IPv6 attacker has many /64s): once a username is locked, wrong answers for it get 429
  and the lockout is logged. A correct answer is still served: refusing it would let anyone
  who knows a MAC (the username is derived from it) deny that device, and guessing a
  device's password (24 random characters) online is hopeless however fast one asks.
"""

from __future__ import annotations

import logging

from provisioner import metrics
from provisioner.domain.delivery.fetches import Fetch
from provisioner.domain.delivery.lockouts import LockoutBoard
from provisioner.domain.delivery.networks import lockout_key
from provisioner.domain.delivery.ratelimit import Cost, SourceLimiter

security_log = logging.getLogger("provisioner.security")

_MAX_USERNAME = 64  # a claimed username is the attacker's text: bounded before it is a key


class Admission:
    """This process's token buckets (per source and channel, and per claimed username) and
    the lockouts every process shares."""

    def __init__(
        self, limiter: SourceLimiter, lockouts: LockoutBoard, users: SourceLimiter | None = None
    ) -> None:
        self.limiter = limiter
        self.lockouts = lockouts
        self.users = users or SourceLimiter(
            capacity=limiter.capacity,
            refill_per_second=limiter.refill,
            lockout_seconds=limiter.lockout,
        )

    def locked(self, fetch: Fetch) -> bool:
        """Whether the source is locked out on this fetch's channel, here or by any process
        (the shared table holds lockouts earned over TCP only)."""
        key = lockout_key(fetch.source)
        return self.limiter.locked(_bucket(fetch, key)) or self.lockouts.locked(key)

    def user_locked(self, fetch: Fetch) -> bool:
        """Whether the username this fetch's credentials claim took too many wrong answers."""
        user = _claimed_user(fetch)
        return user is not None and self.users.locked(user)

    def charge(self, fetch: Fetch, cost: Cost, wrong_answer: bool = False) -> None:
        """What a refusal costs its source (and, for a wrong password, the username it
        claims: a replay or a mismatched User-Agent is no guess at a password). The charge
        that empties a TCP source's bucket locks it out in every process; a UDP source's, in
        this one and over TFTP only."""
        key = lockout_key(fetch.source)
        if self.limiter.charge(_bucket(fetch, key), cost):
            security_log.warning(
                "locked out %s (%s) for %d s", key, fetch.protocol, self.limiter.lockout
            )
            metrics.count_lockout(fetch.protocol)
            if fetch.protocol != "tftp":
                self.lockouts.publish(key, self.limiter.lockout)
        user = _claimed_user(fetch) if wrong_answer else None
        if user is not None and self.users.charge(user, cost):
            security_log.warning("locked out username %r for %d s", user, self.users.lockout)

    def refund(self, fetch: Fetch) -> None:
        """An honest device pays for its challenge only until it authenticates.

        Buckets are per process, and the answer often reaches another worker than its
        challenge did: refunding exactly one token would leave the challenging worker's
        bucket on a random walk that, over a long storm from one NAT address, hits empty and
        locks the office out (bench.field_storm showed it). A correct answer credits two (its
        challenge and another's), capped at capacity, so every worker drifts back to full;
        crediting needs the device's password, so it buys an attacker nothing."""
        self.limiter.refund(_bucket(fetch, lockout_key(fetch.source)), 2 * Cost.ROUTINE)


def _bucket(fetch: Fetch, key: str) -> str:
    """UDP sources are counted apart: a forged datagram must not drain the TCP bucket."""
    return f"udp {key}" if fetch.protocol == "tftp" else key


def _claimed_user(fetch: Fetch) -> str | None:
    if fetch.digest is not None:
        return fetch.digest.username[:_MAX_USERNAME]
    if fetch.basic is not None:
        return fetch.basic[0][:_MAX_USERNAME]
    return None
