"""Re-index every basic item's search text: words now come with the character bigrams of the name
and keywords (the fallback when no word of a query matches)."""

from django.db import migrations


def reindex(apps, schema_editor):
    from shared_apps.catalog.search import search_text_for

    BasicItem = apps.get_model("catalog", "BasicItem")
    items = list(BasicItem.objects.only("id", "name", "keywords", "themes"))
    for item in items:
        item.search_text = search_text_for(item.name, item.keywords, item.themes)
    BasicItem.objects.bulk_update(items, ["search_text"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_department_credit_code_register")]

    operations = [migrations.RunPython(reindex, migrations.RunPython.noop)]
