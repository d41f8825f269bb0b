"""Alerting: incidents, routing, the outbox and the notification channels."""
