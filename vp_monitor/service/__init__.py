"""The service layer: one application object, tenant scopes, read models and async commands,
shared by the command line, the monitor and the web service (none of it knows click)."""
