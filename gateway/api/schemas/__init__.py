"""The API's request and response schemas (pydantic v2), one module per resource.

These models both validate what comes in and describe what goes out; the OpenAPI
document is generated from them (``gateway.api.openapi``), so the two cannot drift.
"""
