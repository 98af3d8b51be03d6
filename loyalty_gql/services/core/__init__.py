"""What every use case shares: the unit of work, idempotency, the clock and actors."""
