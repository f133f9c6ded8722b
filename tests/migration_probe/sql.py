"""SQL the probe migration imports (a change here must change the migration fingerprint)."""

FORWARDS = [
    "CREATE SEQUENCE migration_probe_ticket",
    # Side effects in SELECTs: the sequence ends at 2 in a migrated schema.
    "SELECT nextval('migration_probe_ticket')",
    "SELECT nextval('migration_probe_ticket')",
    """CREATE FUNCTION migration_probe_touch() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN NEW.touched := NEW.touched + 1; RETURN NEW; END $$""",
    """CREATE TRIGGER migration_probe_touch BEFORE UPDATE ON migration_probe_probe
       FOR EACH ROW EXECUTE FUNCTION migration_probe_touch()""",
    "CREATE VIEW migration_probe_named AS SELECT id, name FROM migration_probe_probe",
    "GRANT SELECT ON migration_probe_named TO PUBLIC  -- a statement may end with a comment",
]
