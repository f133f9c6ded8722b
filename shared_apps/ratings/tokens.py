"""The QR code's one-time token (扫码评价): derived from the case under SECRET_KEY, so the
acceptance notice (drawn on request, never stored) prints the same code each time; the platform
keeps only its SHA-256 (RatingToken), written in the acceptance's transaction, and a rating spends
it. A token that matches no row (forged, or of another unit) or one already spent is refused."""

import hashlib

from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from shared_apps.ratings.models import RatingToken
from tenants.links import tenant_url

_SALT = "shared_apps.ratings.qr"
TOKEN_LENGTH = 32  # hex digits: 128 bits


def token_for(tenant, case) -> str:
    return salted_hmac(_SALT, f"{tenant.code}\n{case.public_id}", algorithm="sha256").hexdigest()[
        :TOKEN_LENGTH
    ]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register(tenant, case) -> None:
    """Keep the digest of the case's token (in the caller's transaction; once per case)."""
    RatingToken.objects.bulk_create(
        [
            RatingToken(
                digest=digest(token_for(tenant, case)),
                tenant=tenant,
                case_public_id=case.public_id,
                created_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )


def rating_url(tenant, case, request=None) -> str:
    """The QR code's address: the rating page on the unit's subdomain."""
    path = reverse(
        "ratings:by_token", args=[token_for(tenant, case)], urlconf="govplatform.urls_tenant"
    )
    return tenant_url(tenant, path, request)
