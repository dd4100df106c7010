"""HTTP in: the aiohttp ingest route, operations endpoints (and the CRUD API)."""
