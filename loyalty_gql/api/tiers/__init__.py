"""Tiers: the levels of a program, and defining them."""
