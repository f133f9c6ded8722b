"""The rating API of a unit, on its subdomain: the applicant rates a delivered case and reads
their rating (`/my/cases/{id}/rating`); the unit's staff read its ratings without the raters
(`/ratings`). No endpoint changes a rating."""

import time
import uuid
from datetime import datetime
from typing import Literal

from django.conf import settings
from django.http import Http404
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from govplatform.errors import ApiError, ErrorCode
from govplatform.paging import PageIn, page_of, paged
from shared_apps.accounts.api_auth import TOKEN_OR_SESSION, staff_auth
from shared_apps.accounts.models import Role
from shared_apps.notifications.channels import sign_request
from shared_apps.ratings import actions, queries
from shared_apps.ratings.models import REASONS, Channel
from tenant_apps.cases import queries as case_queries
from tenants.models import Tenant

applicant_router = Router(tags=["ratings"])
router = Router(tags=["ratings"])
STAFF_READERS = (
    Role.WINDOW_CLERK,
    Role.REVIEWER,
    Role.APPROVER,
    Role.DEPARTMENT_HEAD,
    Role.SUPERVISOR,
    Role.TENANT_ADMIN,
)
Reason = Literal[tuple(REASONS)]
CaseId = Path(description="the case's public id")


class RatingIn(Schema):
    level: int = Field(..., ge=1, le=5, description="1 非常满意 … 5 非常不满意")
    reasons: list[Reason] = Field(default_factory=list, max_length=len(REASONS))
    comment: str = Field("", max_length=actions.COMMENT_MAX, description="required for 4 and 5")
    channel: Literal[Channel.PC.value, Channel.MOBILE.value] = "mobile"


class RatingOut(Schema):
    level: int
    level_label: str
    reasons: list[str]
    comment: str
    channel: str
    at: datetime


class UnitRatingOut(Schema):
    """A rating as the unit rated sees it: no rater, no case."""

    item_name: str
    implementation_code: str
    department_name: str
    level: int
    reasons: list[str]
    comment: str
    channel: str
    at: datetime


def _out(rating) -> dict:
    return {
        "level": rating.level,
        "level_label": str(rating.get_level_display()),
        "reasons": rating.reasons,
        "comment": rating.comment,
        "channel": rating.channel,
        "at": rating.at,
    }


def _my_case(request, case_id: uuid.UUID):
    token = getattr(request, "api_token", None)
    if token is not None and ("cases:apply" not in token.scopes or token.user is None):
        raise ApiError(
            ErrorCode.PERMISSION_DENIED,
            _("The token lacks the scope %(scope)s.") % {"scope": "cases:apply"},
        )
    case = case_queries.find(case_id, among=case_queries.applicant_cases(request.user))
    if case is None:
        raise Http404
    return case


@applicant_router.get(
    "/my/cases/{case_id}/rating",
    response=RatingOut,
    auth=TOKEN_OR_SESSION,
    summary="My rating of one of my cases",
)
def my_rating(request, case_id: uuid.UUID = CaseId):
    rating = queries.rating_of_case(_my_case(request, case_id))
    if rating is None:
        raise ApiError(ErrorCode.NOT_FOUND, _("This case has not been rated."))
    return _out(rating)


@applicant_router.post(
    "/my/cases/{case_id}/rating",
    response={201: RatingOut},
    auth=TOKEN_OR_SESSION,
    summary="Rate one of my cases once its result is delivered (好差评)",
)
def rate_my_case(request, payload: RatingIn, case_id: uuid.UUID = CaseId):
    case = _my_case(request, case_id)
    try:
        rating = actions.rate(
            case,
            actor=request.user,
            level=payload.level,
            reasons=payload.reasons,
            comment=payload.comment,
            channel=payload.channel,
            request=request,
        )
    except actions.RatingConflict as conflict:
        raise ApiError(ErrorCode.CONFLICT, str(conflict)) from None
    return Status(201, _out(rating))


@router.get(
    "/ratings",
    response=page_of(UnitRatingOut),
    auth=staff_auth("cases:read", *STAFF_READERS),
    summary="This unit's ratings, newest first, without the raters",
)
def unit_ratings(request, paging: Query[PageIn], level: int | None = Query(None, ge=1, le=5)):
    return paged(queries.unit_ratings(request.tenant, level=level), paging)


# --- published statistics (好差评公示), on the portal: no personal data ----------------------------

public_router = Router(tags=["statistics"])


class FiguresOut(Schema):
    level_1: int = Field(description="非常满意")
    level_2: int = Field(description="满意")
    level_3: int = Field(description="基本满意")
    level_4: int = Field(description="不满意")
    level_5: int = Field(description="非常不满意")
    total: int
    satisfied_share: float | None = Field(description="levels 1–3 / all ratings (满意率)")
    rectifications: int
    rectified: int
    rectified_on_time: int
    on_time_share: float | None = Field(description="rectified_on_time / rectified")


class RankedUnitOut(Schema):
    rank: int
    code: str
    name: str
    figures: FiguresOut
    rectifications_yellow: int
    rectifications_red: int
    appeals_upheld: int


class RatedItemOut(Schema):
    implementation_code: str
    item_name: str
    figures: FiguresOut


def figures_of(row) -> dict:
    return {name: getattr(row, name) for name in FiguresOut.model_fields}


@public_router.get(
    "/statistics/ratings/units",
    response=page_of(RankedUnitOut),
    summary="The units ranked by their ratings (好差评排名)",
)
def rating_ranking(
    request,
    paging: Query[PageIn],
    within: str | None = Query(None, min_length=12, max_length=12, pattern=r"^\d{12}$"),
):
    start = (paging.page - 1) * paging.page_size

    def render(rows):
        return [
            {
                "rank": start + n + 1,
                "code": row.tenant.code,
                "name": row.tenant.name,
                "figures": figures_of(row),
                "rectifications_yellow": row.rectifications_yellow,
                "rectifications_red": row.rectifications_red,
                "appeals_upheld": row.appeals_upheld,
            }
            for n, row in enumerate(rows)
        ]

    return paged(queries.ranking(within=within), paging, render)


@public_router.get(
    "/statistics/ratings/units/{code}/items",
    response=page_of(RatedItemOut),
    summary="The ratings of one unit's items (好差评公示)",
)
def rated_items(request, paging: Query[PageIn], code: str = Path(max_length=12)):
    unit = Tenant.objects.filter(code=code).first() if "\x00" not in code else None
    if unit is None:
        raise ApiError(ErrorCode.NOT_FOUND, _("No such unit."))
    return paged(
        queries.unit_items(unit),
        paging,
        lambda rows: [
            {
                "implementation_code": row.implementation_code,
                "item_name": row.item_name,
                "figures": figures_of(row),
            }
            for row in rows
        ],
    )


# --- the SMS gateway's inbound replies (短信评价), on the portal ---------------------------------

gateway_router = Router(tags=["sms gateway"])
SIGNATURE_AGE_S = 300


class SmsReplyIn(Schema):
    phone: str = Field(..., min_length=1, max_length=20)
    text: str = Field(..., min_length=1, max_length=500)
    reference: str = Field(
        ..., min_length=1, max_length=200, description="the reference of the SMS replied to"
    )


class SmsReplyOut(Schema):
    level: int
    channel: str


def _signed_by_gateway(request) -> None:
    """The gateway signs its calls as we sign ours (README, Notifications): HMAC-SHA256 under
    SMS_GATEWAY_KEY of `X-Timestamp`, a newline and the body; a timestamp older than 5 minutes
    is refused, so a captured reply can't be played again later."""
    key = settings.SMS_GATEWAY_KEY
    timestamp = request.headers.get("X-Timestamp", "")
    signature = request.headers.get("X-Signature", "")
    fresh = timestamp.isdecimal() and abs(time.time() - int(timestamp)) <= SIGNATURE_AGE_S
    if not (
        key
        and fresh
        and constant_time_compare(sign_request(key, timestamp, request.body), signature)
    ):
        raise ApiError(ErrorCode.NOT_AUTHENTICATED, _("The gateway's signature is not valid."))


@gateway_router.post(
    "/sms/replies",
    response={201: SmsReplyOut},
    summary="An SMS reply from the gateway: a digit rates the case the SMS was about",
)
def sms_reply(request, payload: SmsReplyIn):
    _signed_by_gateway(request)
    try:
        rating = actions.rate_by_sms(
            phone=payload.phone, reference=payload.reference, text=payload.text, request=request
        )
    except actions.TokenRefused as refused:
        raise ApiError(ErrorCode.NOT_FOUND, str(refused)) from None
    except actions.RatingConflict as conflict:
        raise ApiError(ErrorCode.CONFLICT, str(conflict)) from None
    return Status(201, {"level": rating.level, "channel": rating.channel})
