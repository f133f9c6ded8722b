"""A published guide version never changes, in the database too: only the end of its validity may
be set (when the next version is published), and its materials are frozen with it."""

from django.db import migrations

FREEZE = """
CREATE OR REPLACE FUNCTION catalog_freeze_published_version() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'published' AND (
        ROW(NEW.item_id, NEW.number, NEW.status, NEW.valid_from, NEW.legal_basis, NEW.conditions, NEW.process,
            NEW.statutory_days, NEW.fees, NEW.result_name, NEW.in_person_visits, NEW.intermediary_services,
            NEW.max_online_depth, NEW.published_at)
        IS DISTINCT FROM
        ROW(OLD.item_id, OLD.number, OLD.status, OLD.valid_from, OLD.legal_basis, OLD.conditions, OLD.process,
            OLD.statutory_days, OLD.fees, OLD.result_name, OLD.in_person_visits, OLD.intermediary_services,
            OLD.max_online_depth, OLD.published_at)
        OR (OLD.valid_to IS NOT NULL AND NEW.valid_to IS DISTINCT FROM OLD.valid_to)
    ) THEN
        RAISE EXCEPTION 'a published guide version is immutable; draft a new version';
    END IF;
    IF TG_OP = 'DELETE' AND OLD.status = 'published' THEN
        RAISE EXCEPTION 'a published guide version is immutable; draft a new version';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER catalog_guideversion_frozen BEFORE UPDATE OR DELETE ON catalog_guideversion
FOR EACH ROW EXECUTE FUNCTION catalog_freeze_published_version();

CREATE OR REPLACE FUNCTION catalog_freeze_published_materials() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM catalog_guideversion
               WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.version_id ELSE OLD.version_id END
                 AND status = 'published') THEN
        RAISE EXCEPTION 'the materials of a published guide version are immutable; draft a new version';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER catalog_guidematerial_frozen BEFORE INSERT OR UPDATE OR DELETE ON catalog_guidematerial
FOR EACH ROW EXECUTE FUNCTION catalog_freeze_published_materials();
"""

THAW = """
DROP TRIGGER IF EXISTS catalog_guidematerial_frozen ON catalog_guidematerial;
DROP FUNCTION IF EXISTS catalog_freeze_published_materials();
DROP TRIGGER IF EXISTS catalog_guideversion_frozen ON catalog_guideversion;
DROP FUNCTION IF EXISTS catalog_freeze_published_version();
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunSQL(FREEZE, THAW)]
