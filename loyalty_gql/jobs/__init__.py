"""Background jobs: expiry, expiry warnings, tier review. Safe to run in several
processes at once on PostgreSQL (rows are taken with FOR UPDATE SKIP LOCKED)."""
