"""The API's areas: each module lists its routes in `ROUTES`, gathered by web/routes.py."""
