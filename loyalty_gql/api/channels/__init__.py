"""E-mail and Web Push: the admin API, customers' push subscriptions, unsubscribe links."""
