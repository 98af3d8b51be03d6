"""Insight: program statistics, daily series, customer and offer insight."""
