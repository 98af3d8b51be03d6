"""Offers: the catalogue (create, publish, copy...), redemptions, assignments, exchanges and
stacking groups."""
