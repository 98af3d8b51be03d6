"""Offers: the catalogue (catalog), what customers hold (holdings), exchanges (exchanges)."""
