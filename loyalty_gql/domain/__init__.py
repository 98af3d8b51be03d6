"""Pure business rules: no database, no GraphQL, no HTTP."""
