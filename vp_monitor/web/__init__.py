"""The web service (aiohttp): API, dashboard, live events, metrics."""
