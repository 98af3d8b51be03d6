"""What the tests share: the clock, the shop driver and the GraphQL operations."""
