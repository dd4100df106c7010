"""Verifications per second for every verifier preset, beside a bare-HMAC baseline.

Run from the repository root: ``python -m bench.verifiers``.

Each preset in ``verifiers.registry.PRESETS`` verifies one valid request with a
~2 KB JSON body, signed here with the provider's scheme (stdlib ``hmac`` and
``cryptography`` only; no provider SDK). The baseline, measured in the same run, is
what a hand-written endpoint does at the least:
``hmac.compare_digest(hmac.new(key, body, sha256).digest(), expected)``.
Ratios are a preset's time per verification over each baseline's: the bare HMAC, and
the bare HMAC plus ``orjson.loads(body)`` (the cost of learning the event id and type
from the body, which ingest pays either way).

A preset the bench cannot sign (no signer below yet, or the signed request is refused)
is listed as skipped with the reason. SNS is timed on ``verify`` with its certificate
already fetched (the gateway fetches and caches it outside the verifier).
The whole run takes about ``BUDGET_S`` seconds per row.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import platform
import time
from collections.abc import Callable

import orjson

from tests.signing import BODY_BYTES, NOW, SECRET, SIGNERS, event, padded
from verifiers.errors import VerifierError
from verifiers.registry import PRESETS, build_verifier

BUDGET_S = 0.5
REPEATS = 5


def seconds_per_call(call: Callable[[], object]) -> float:
    """The best per-call time of ``call`` over ``REPEATS`` runs filling ``BUDGET_S``."""
    loops, elapsed = 1, 0.0
    while elapsed < BUDGET_S / (REPEATS + 1):
        loops *= 2
        elapsed = run(call, loops)
    per_run = max(1, int(loops * (BUDGET_S / (REPEATS + 1)) / elapsed))
    return min(run(call, per_run) / per_run for _ in range(REPEATS))


def run(call: Callable[[], object], loops: int) -> float:
    """Seconds taken by ``loops`` calls of ``call``."""
    start = time.perf_counter()
    for _ in range(loops):
        call()
    return time.perf_counter() - start


def baseline(*, parse_json: bool) -> float:
    """Seconds per bare ``compare_digest(hmac.new(key, body, sha256).digest(), expected)``.

    With ``parse_json`` the baseline also parses the body with orjson, as any endpoint
    must to learn the event's id and type; presets that read those from the body pay it.
    """
    key, body = SECRET.encode(), padded(event())
    expected = hmac.new(key, body, hashlib.sha256).digest()

    def verify() -> bool:
        return hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), expected)

    def verify_and_parse() -> bool:
        orjson.loads(body)
        return verify()

    return seconds_per_call(verify_and_parse if parse_json else verify)


def measure(name: str) -> float | str:
    """Seconds per verification for preset ``name``, or why it was skipped."""
    signer = SIGNERS.get(name)
    if signer is None:
        return "skipped (no signer in the bench)"
    case = signer()
    try:
        verifier = build_verifier(name, case.secrets, None, case.options)
        verifier.verify(case.request, NOW)
    except VerifierError as e:
        return f"skipped ({type(e).__name__}: {e})"
    return seconds_per_call(lambda: verifier.verify(case.request, NOW))


def main() -> None:
    """Measure the baseline and every registered preset; print the table."""
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"body ~{BODY_BYTES} B JSON; best of {REPEATS} runs, ~{BUDGET_S} s per row\n")
    base, base_json = baseline(parse_json=False), baseline(parse_json=True)
    rows: list[tuple[str, ...]] = [
        ("baseline: bare hmac sha256", f"{1 / base:,.0f}", "1.00", f"{base / base_json:.2f}"),
        (
            "baseline + orjson.loads(body)",
            f"{1 / base_json:,.0f}",
            f"{base_json / base:.2f}",
            "1.00",
        ),
    ]
    for name in sorted(PRESETS):
        result = measure(name)
        if isinstance(result, str):
            rows.append((name, result))
        else:
            rows.append(
                (name, f"{1 / result:,.0f}", f"{result / base:.2f}", f"{result / base_json:.2f}")
            )
    width = max(len(row[0]) for row in rows)
    print(f"{'preset':<{width}}  {'verifications/s':>15}  {'x hmac':>7}  {'x hmac+json':>11}")
    for row in rows:
        if len(row) == 4:
            print(f"{row[0]:<{width}}  {row[1]:>15}  {row[2]:>7}  {row[3]:>11}")
        else:
            print(f"{row[0]:<{width}}  {row[1]}")


if __name__ == "__main__":
    main()
