"""Points: the ledger (ledger), activities, expiry and the ledger check (verify)."""
