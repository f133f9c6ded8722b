"""An operator issues a staff member's one-time enrolment link (for the first provincial
administrator, or anyone whose administrators can't)."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from shared_apps.accounts import actions
from shared_apps.accounts.models import User


def enrolment_url(code: str) -> str:
    """The link on the provincial portal (PORT: the development server's port, if any)."""
    port = os.environ.get("PORT", "8000" if settings.BASE_DOMAIN.endswith("localhost") else "")
    scheme = "https" if settings.SESSION_COOKIE_SECURE else "http"
    host = f"{settings.BASE_DOMAIN}:{port}" if port else settings.BASE_DOMAIN
    return f"{scheme}://{host}/accounts/enrol/{code}"


class Command(BaseCommand):
    help = (
        "Print a one-time link (24 hours) with which a staff member enrols their authenticator app."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no account named {username!r}")
        code = actions.issue_enrolment_link(actor="system:issue_enrolment_link", user=user)
        self.stdout.write(enrolment_url(code))
