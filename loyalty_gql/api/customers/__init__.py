"""Customers: registration, profiles and enrolment."""
