"""Entry point of the job worker: `python manage.py run_worker` (or `dramatiq govplatform.worker`).

Sets Django up, installs the configured broker and imports every installed app's `actors` module.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
django.setup()

from django.utils.module_loading import autodiscover_modules  # noqa: E402

from govplatform.jobs import setup_broker  # noqa: E402

broker = setup_broker()  # the dramatiq CLI picks up this module-level broker
autodiscover_modules("actors")
