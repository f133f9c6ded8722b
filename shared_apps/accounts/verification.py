"""Real-name verification (实名核验), pluggable.

The default checks only that the data is well formed and records the lowest level of assurance.
A production verifier (the public-security or a telecom real-name service) implements the same
`verify` and is named by the REAL_NAME_VERIFIER setting.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from shared_apps.accounts.models import AssuranceLevel


@dataclass(frozen=True)
class VerificationResult:
    level: int
    verifier: str


class FormatOnlyVerifier:
    name = "format-only"

    def verify(self, *, real_name: str, id_number: str, phone: str) -> VerificationResult:
        return VerificationResult(AssuranceLevel.SELF_DECLARED, self.name)


def verifier():
    return import_string(settings.REAL_NAME_VERIFIER)()
