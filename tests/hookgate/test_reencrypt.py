"""``hookgate reencrypt`` as an operator rotating ``security.secret_key`` runs it."""

from __future__ import annotations

from pathlib import Path

from storage import Storage, open_storage
from storage.records import SubscriptionFields
from tests.conftest import SECRET_KEY
from tests.hookgate.test_cli import hookgate

NEW_KEY = "new-secret-key-after-rotation-0123456789abcdef"


def rotated_config(folder: Path, storage_url: str, previous: list[str]) -> Path:
    """A config whose current key is ``NEW_KEY``, still reading ``previous``."""
    path = folder / "rotated.yaml"
    path.write_text(
        f"storage: {{url: '{storage_url}'}}\n"
        f"security: {{secret_key: '{NEW_KEY}', previous_secret_keys: {previous!r}}}\n"
    )
    return path


async def add_subscription(storage: Storage) -> tuple[str, tuple[str, ...]]:
    """A subscription written under ``SECRET_KEY``: its id and signing secrets."""
    owner, _ = await storage.users.create("Team", "team@example.com", "member")
    subscription, _ = await storage.subscriptions.create(
        owner.id, SubscriptionFields(url="https://hooks.example.org/in")
    )
    return subscription.id, await storage.subscriptions.signing_secrets(subscription.id)


async def test_reencrypt_rewrites_secrets_under_the_current_key(
    tmp_path: Path, storage: Storage, storage_url: str
) -> None:
    """With the old key in previous_secret_keys, reencrypt says how many it rewrote (none
    the second time), and afterwards the current key alone reads every secret."""
    sub_id, secrets = await add_subscription(storage)
    config = rotated_config(tmp_path, storage_url, [SECRET_KEY])

    first = hookgate("--config", str(config), "reencrypt", cwd=tmp_path)
    again = hookgate("--config", str(config), "reencrypt", cwd=tmp_path)

    # One subscription holds two sealed values: its signing secret and its header map.
    assert (0, "reencrypted 2 stored secrets under security.secret_key\n") == (
        first.returncode,
        first.stdout,
    ), first.stderr
    assert "reencrypted 0 stored secrets under security.secret_key\n" == again.stdout
    async with open_storage(storage_url, NEW_KEY) as rotated:
        assert secrets == await rotated.subscriptions.signing_secrets(sub_id)


async def test_reencrypt_names_a_secret_no_key_can_read(
    tmp_path: Path, storage: Storage, storage_url: str
) -> None:
    """Without the old key, reencrypt stops with exit 1 and one line naming the
    subscription — never a silent skip."""
    sub_id, _ = await add_subscription(storage)
    config = rotated_config(tmp_path, storage_url, [])

    result = hookgate("--config", str(config), "reencrypt", cwd=tmp_path)

    assert 1 == result.returncode
    assert sub_id in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr
