"""A tenant app for tests only (installed by tests.probe_settings or override_settings): one new
migration with what a schema comparison must see — a table, a sequence advanced by a SELECT, a
function, a trigger, a view and a grant."""
