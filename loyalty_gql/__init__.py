"""Loyalty GraphQL: a loyalty-program engine for headless e-commerce."""

__version__ = "0.1.0"
