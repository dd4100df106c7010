"""The ingest baseline: a bare aiohttp handler that answers 202 and does nothing else.

python -m bench.bare_server PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def accept(request: web.Request) -> web.Response:
    """Read the body and answer 202, as the cheapest possible webhook endpoint."""
    await request.read()
    return web.Response(status=202, body=b'{"id":"evt_0","duplicate":false}')


def main() -> None:
    """Serve on 127.0.0.1:PORT until killed."""
    app = web.Application()
    app.router.add_post("/ingest/{source}", accept)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
