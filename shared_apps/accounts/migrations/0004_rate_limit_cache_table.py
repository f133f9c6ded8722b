from django.db import migrations

# The table Django's `createcachetable` makes for the database cache (settings.CACHES when no
# CACHE_URL is set), in `public`, where the rate limits count.
CREATE = """
CREATE TABLE IF NOT EXISTS platform_cache (
    cache_key varchar(255) NOT NULL PRIMARY KEY,
    value text NOT NULL,
    expires timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS platform_cache_expires ON platform_cache (expires);
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_api_token_family")]

    operations = [migrations.RunSQL(CREATE, "DROP TABLE IF EXISTS platform_cache")]
