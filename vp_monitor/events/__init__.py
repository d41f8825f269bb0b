"""Live change events: a change table written in the transaction of each change, read by the
web nodes (PostgreSQL LISTEN/NOTIFY wakes them, SQLite is polled) and fanned out to clients.

`record` (the writers' one function) and `models` import only the database layer and the
registry, so that the monitor and alerting may both write events; `feed` reads them within a
Scope, `hub` delivers them to the subscribers of one web process.
"""
