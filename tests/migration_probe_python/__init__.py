"""A tenant app for tests only: migrations that replaying recorded SQL can't reproduce — one that
runs Python on the schema it migrates, one whose operation rolls back to a savepoint."""
