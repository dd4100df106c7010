#!/usr/bin/env bash
# Local quickstart: random development secrets kept in .hookgate-dev.env (git-ignored,
# made once), then `hookgate dev` with ./config.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."

env_file=.hookgate-dev.env
if [[ ! -f $env_file ]]; then
    umask 077
    .venv/bin/python - >"$env_file" <<'PY'
import secrets
for name in ("HOOKGATE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "ACME_SECRET"):
    print(f"export {name}={secrets.token_urlsafe(32)}")
PY
    echo "run-dev: wrote random development secrets to $env_file"
fi
echo "run-dev: in another shell, run hookgate commands from $PWD after:"
echo "  . .venv/bin/activate; set -a; . ./$env_file; set +a"
# shellcheck disable=SC1090
source "$env_file"
exec .venv/bin/hookgate dev
