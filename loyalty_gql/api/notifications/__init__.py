"""Notification templates: listing, editing and previewing them (admins)."""
