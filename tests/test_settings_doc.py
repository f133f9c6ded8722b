from pathlib import Path

from django.conf import settings


def test_every_setting_is_documented_in_the_readme():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    for name, (default, _meaning) in settings.ENVIRONMENT.items():
        expected_default = f"`{default}`" if default else "(empty)"
        assert f"| `{name}` | {expected_default} |" in readme, f"README lacks the row for {name}"
