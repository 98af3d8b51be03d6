"""Points: balances, the ledger, activities, grants and tiers."""
