"""Offers: the admin side (create, edit, publish, delete, copy, list)."""
