"""The GraphQL API: types, resolvers, auth, loaders and the HTTP app."""
