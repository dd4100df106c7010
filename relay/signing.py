"""Signers per subscription, cached briefly: decrypting a subscription's secrets for
every job would cost a query and an AES-GCM open per subscription per job.

A rotation reaches the relay within ``TTL_S``. Meanwhile deliveries keep the previous
secret, which stays valid for the rotation's grace period (a day by default), so
receivers notice nothing; only a rotation with ``grace_s=0`` sees failed attempts, which
are retried with the new secret.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection

from storage.subscriptions import Subscriptions
from verifiers import VerifierConfigError
from verifiers.signer import StandardWebhooksSigner

TTL_S = 10.0


class Signers:
    """``StandardWebhooksSigner`` of each subscription, read at most every ``TTL_S``."""

    def __init__(
        self, subscriptions: Subscriptions, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._subscriptions = subscriptions
        self._clock = clock
        self._cache: dict[str, tuple[float, StandardWebhooksSigner | None]] = {}

    async def of(self, subscription_ids: Collection[str]) -> dict[str, StandardWebhooksSigner]:
        """The signers of those subscriptions that have a usable secret."""
        now = self._clock()
        stale = [s for s in subscription_ids if self._cache.get(s, (0.0, None))[0] <= now]
        secrets = await asyncio.gather(
            *(self._subscriptions.signing_secrets(sub_id) for sub_id in stale)
        )
        for sub_id, keys in zip(stale, secrets, strict=True):
            self._cache[sub_id] = (now + TTL_S, _signer(keys))
        found = {sub_id: self._cache[sub_id][1] for sub_id in subscription_ids}
        return {sub_id: signer for sub_id, signer in found.items() if signer is not None}


def _signer(secrets: tuple[str, ...]) -> StandardWebhooksSigner | None:
    try:
        return StandardWebhooksSigner(secrets)
    except VerifierConfigError:
        return None
