#!/usr/bin/env bash
# Regenerate the lock files from pyproject.toml: requirements.lock (what the image and
# `make run` install) and requirements-dev.lock (what `make test` and CI install).
# Pinned with hashes, resolved for the image's Python (3.11) on every platform, so a
# Mac and the linux/amd64 or arm64 image install the same versions.
# Run after changing a dependency in pyproject.toml; commit both files.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.9.5
tools=${TMPDIR:-/tmp}/hookgate-lock-tools
if [[ ! -x $tools/bin/uv ]] || [[ $("$tools/bin/uv" --version) != "uv $UV_VERSION" ]]; then
    python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet "uv==$UV_VERSION"
fi
compile=("$tools/bin/uv" pip compile pyproject.toml --universal --python-version 3.11
    --generate-hashes --no-header --quiet)
# The dev set is resolved first and the runtime set is constrained by it, so every
# package in both files has the same version in both.
"${compile[@]}" --extra dev -o requirements-dev.lock
"${compile[@]}" --constraint requirements-dev.lock -o requirements.lock
echo "lock: wrote requirements.lock and requirements-dev.lock"
