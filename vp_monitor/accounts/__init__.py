"""People and scripts who use the web service: accounts, roles, sessions and API tokens."""
