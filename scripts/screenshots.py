"""Take the console's screenshots into ``docs/screenshots/`` (the README links them).

Runs the console's browser tests on SQLite with ``HOOKGATE_SCREENSHOTS`` set, so the
pictures show the pages exactly as the tests drive them: ``python scripts/screenshots.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Run the tests that take the pictures; their exit status."""
    env = {**os.environ, "HOOKGATE_SCREENSHOTS": str(ROOT / "docs" / "screenshots")}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "tests/gateway/console/test_browser.py",
        "tests/gateway/console/test_jobs.py",
        "-k",
        "sqlite and (every_page or bad_key or until_it_succeeds)",
    ]
    return subprocess.call(command, cwd=ROOT, env=env)  # noqa: S603  (our own interpreter)


if __name__ == "__main__":
    raise SystemExit(main())
