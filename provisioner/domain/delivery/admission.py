"""Admission, the first stage: a locked-out source gets nothing, before any work is done.

Refusals are charged to their source here too, so what an attacker's guesses cost and what
locks it out are decided in one place. The bench is neither checked nor charged: its devices
are ours, on our own network.
"""

from __future__ import annotations

import logging

from provisioner import metrics
from provisioner.domain.delivery.fetches import Fetch, Outcome, Refusal
from provisioner.domain.delivery.lockouts import LockoutBoard
from provisioner.domain.delivery.ratelimit import Cost, SourceLimiter

security_log = logging.getLogger("provisioner.security")


class Admission:
    """This process's token buckets and the lockouts every process shares."""

    def __init__(self, limiter: SourceLimiter, lockouts: LockoutBoard) -> None:
        self.limiter = limiter
        self.lockouts = lockouts

    def admit(self, fetch: Fetch) -> None:
        """Raise the 429 for a source locked out here or by any other process."""
        if self.limiter.locked(fetch.source) or self.lockouts.locked(fetch.source):
            raise Refusal(Outcome.LOCKED, "locked out", label="locked_out")

    def charge(self, fetch: Fetch, cost: Cost) -> None:
        """What a refusal costs its source; the charge that empties the bucket locks the
        source out in every process."""
        if self.limiter.charge(fetch.source, cost):
            security_log.warning("locked out %s for %d s", fetch.source, self.limiter.lockout)
            metrics.count_lockout(fetch.protocol)
            self.lockouts.publish(fetch.source, self.limiter.lockout)

    def refund(self, fetch: Fetch) -> None:
        """An honest device pays for its challenge only until it authenticates.

        Buckets are per process, and the answer often reaches another worker than its
        challenge did: refunding exactly one token would leave the challenging worker's
        bucket on a random walk that, over a long storm from one NAT address, hits empty and
        locks the office out (bench.field_storm showed it). A correct answer credits two (its
        challenge and another's), capped at capacity, so every worker drifts back to full;
        crediting needs the device's password, so it buys an attacker nothing."""
        self.limiter.refund(fetch.source, 2 * Cost.ROUTINE)
