import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
application = get_wsgi_application()

# Load the word segmenter's dictionary once, before gunicorn forks its workers (about a second),
# rather than in the first search.
from shared_apps.catalog.search import words  # noqa: E402

words("预热")
