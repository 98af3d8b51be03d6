"""Queries and row <-> domain mapping, one module per area."""
