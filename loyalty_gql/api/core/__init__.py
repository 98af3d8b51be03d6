"""Conventions shared by every area: IDs, errors, pagination, scalars, permissions."""
