"""The operator console (``/console/``, SPEC §9): server-rendered pages over the API's rules.

One module per concern: ``app`` (``create_console``, the table of contents), ``guard``
(sessions, CSRF, security headers and error pages for every request), ``signin``
(signing in and out), ``pages`` (rendering, formatting, forms), ``charts`` (SVG
geometry drawn on the server), and one module per page group (``overview``, ``events``,
``deliveries``, ``subscriptions``, ``live``). ``templates/`` are Jinja2 with
autoescaping; ``static/`` holds the stylesheet and the vendored htmx.

Every rule is the API's: the role checks of ``gateway.api.access``, and the actions
(retry, replay, test event, subscription checks) are the functions the API handlers
call. The console never writes SQL and holds no state of its own between requests:
sessions live in storage (``storage.sessions``), so any gateway process serves any
request.
"""

from gateway.console.app import create_console

__all__ = ["create_console"]
