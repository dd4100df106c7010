"""Ids: prefixed, unique, sortable by creation time."""

from __future__ import annotations

import pytest

from core.ids import first_id, has_prefix, new_id


def test_ids_sort_by_time_and_carry_prefix() -> None:
    """Later milliseconds sort later as plain strings; the prefix is kept."""
    earlier, later = (
        new_id("evt", now_ms=1_700_000_000_000),
        new_id("evt", now_ms=1_700_000_000_001),
    )
    assert [earlier, later] == sorted([later, earlier])
    assert has_prefix(earlier, "evt")
    assert not has_prefix(earlier, "dlv")


def test_ids_do_not_collide() -> None:
    """Ten thousand ids in the same millisecond are all different."""
    assert 10_000 == len({new_id("dlv", now_ms=1) for _ in range(10_000)})


def test_unknown_prefix_is_refused() -> None:
    """Only the documented prefixes exist."""
    with pytest.raises(ValueError, match="prefix"):
        new_id("xyz")


def test_first_id_is_the_smallest_id_of_its_millisecond() -> None:
    """Every id made at a millisecond sorts at or after ``first_id`` and before the next
    millisecond's; out-of-range times are clamped."""
    ids = [new_id("dlv", now_ms=1_700_000_000_000) for _ in range(1_000)]

    floor, ceiling = first_id("dlv", 1_700_000_000_000), first_id("dlv", 1_700_000_000_001)

    assert all(floor <= i < ceiling for i in ids)
    assert has_prefix(floor, "dlv")
    assert first_id("dlv", 0) == first_id("dlv", -5)
    assert first_id("dlv", 1 << 60) > new_id("dlv")
