"""The embedded AWS Step Functions runtime (public API assembled once all modules land)."""
