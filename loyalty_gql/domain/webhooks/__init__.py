"""Webhooks: which targets may be called (targets) and how a delivery stands (deliveries)."""
