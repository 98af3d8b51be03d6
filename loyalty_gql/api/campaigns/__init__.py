"""Campaigns: the admin side (create, change, publish, delete, copy, list)."""
