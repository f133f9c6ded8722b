"""A tenant app for tests only: a non-atomic migration (an index built concurrently)."""
