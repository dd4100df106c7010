"""Who may do what (SPEC §7), in one place.

Roles are ranked: ``member`` < ``operator`` < ``admin``; each may do what the ones
below it may.

- ``member``: manages its own subscriptions and API keys; reads its own user, the
  deliveries of its own subscriptions and the events behind them.
- ``operator``: also reads everything (users, every subscription, event and
  delivery), retries deliveries and replays events.
- ``admin``: everything, including managing users and other users' subscriptions.

Two answers, in this order: a route the caller's role may never use is a 403 whatever
the resource (nothing leaks); a resource the caller may not even read is a 404, as if
it did not exist; a resource it may read but not change is a 403.
"""

from __future__ import annotations

from gateway.problems import ProblemError
from storage.records import Role, User

RANKS: dict[Role, int] = {"member": 0, "operator": 1, "admin": 2}


def at_least(user: User, role: Role) -> bool:
    """Whether ``user``'s role is ``role`` or above."""
    return RANKS[user.role] >= RANKS[role]


def require_role(user: User, role: Role) -> None:
    """403 unless ``user``'s role is ``role`` or above."""
    if not at_least(user, role):
        raise ProblemError(403, f"this needs the {role} role or above; yours is {user.role}")


def reads_everything(user: User) -> bool:
    """Whether ``user`` may read every user's resources."""
    return at_least(user, "operator")


def owner_scope(user: User) -> str | None:
    """The owner whose resources ``user`` may read, or None for all of them."""
    return None if reads_everything(user) else user.id


def require_visible_user(user: User, user_id: str) -> None:
    """404 unless ``user`` may read user ``user_id``."""
    if user_id != user.id and not reads_everything(user):
        raise ProblemError(404, f"no user {user_id}")


def may_change(user: User, owner_id: str) -> bool:
    """Whether ``user`` may change a resource owned by ``owner_id``."""
    return owner_id == user.id or at_least(user, "admin")


def require_changeable(user: User, owner_id: str, what: str) -> None:
    """403 unless ``user`` may change a ``what`` owned by ``owner_id`` (it may read it)."""
    if not may_change(user, owner_id):
        raise ProblemError(403, f"only its owner or an admin may change this {what}")
