from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from shared_apps.accounts.identity import id_number_digests, normalize_id_number
from shared_apps.accounts.models import User


class IdentifierBackend(ModelBackend):
    """Sign in with a mobile phone number, an ID number or a user name, and a password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        user = self._find(username.strip())
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    @staticmethod
    def _find(identifier: str):
        try:
            digests = id_number_digests(normalize_id_number(identifier))
        except ValidationError:
            digests = None
        if digests:
            return User.objects.filter(id_number_digest__in=digests).first()
        return (
            User.objects.filter(phone=identifier).first()
            or User.objects.filter(username=identifier).first()
        )
