"""Deterministic identifiers shared by the generator and the pipeline (never random, never clock-based)."""

from __future__ import annotations

import hashlib


def derived_id(prefix: str, *parts: object, length: int = 20) -> str:
    """``PREFIX-<hex>``: a stable id from its parts (sha256 of the parts joined by '|')."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:length].upper()}"


def autocharge_request_key(subscription_id: str, term_number: int, attempt: int) -> str:
    """Idempotency key of autocharge attempt ``attempt`` for renewing term ``term_number``.

    ``term_number`` is the tenure of the term that is ending (1 for the first term); the key
    is what the processor deduplicates on, so one attempt can never be charged twice.
    """
    return derived_id("AC", "autocharge", subscription_id, term_number, attempt)


def refund_answer_payment_id(refund_id: str) -> str:
    """Payment id of the sample processor's answer to refund request ``refund_id`` (one answer per request)."""
    return derived_id("RP", "refund_answer", refund_id)
