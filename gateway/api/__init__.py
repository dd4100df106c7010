"""The CRUD API (``/api/v1``): users, subscriptions, events, deliveries, sources.

One module per concept: ``app`` (``create_api``, the table of contents), ``operations``
(the declared routes and the one path every request takes), ``auth`` (API keys),
``access`` (roles), ``limits`` (per-key rate limits), ``inputs`` (query and body
validation), ``openapi`` (the document, generated), ``targets`` (which subscription
URLs are accepted), ``synthetic`` (the test event), ``jobs`` (handing work to the
relay), one module per resource (``users``, ``subscriptions``, ``events``,
``deliveries``, ``sources``, ``document``) and ``schemas/`` (the models).

Schema library: pydantic v2, chosen over msgspec because its validation errors carry
a precise location and a readable message per field (the 422 ``errors`` list is made
from them), it separates strict request parsing from lax query-string parsing, and it
generates JSON Schema 2020-12 with ``$ref`` components directly usable in OpenAPI 3.1,
for request and response models alike. msgspec decodes faster, but request bodies here
are small and rare; list pages, where speed matters, are built from storage records,
not decoded.
"""

from gateway.api.app import create_api

__all__ = ["create_api"]
