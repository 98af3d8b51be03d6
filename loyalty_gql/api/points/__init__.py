"""Points: balances, the ledger, vouchers, activities and grants."""
