"""Webhook subscriptions, their signing, and the state of their deliveries in Redis."""
