"""Webhook endpoints and the delivery log (site admins)."""
