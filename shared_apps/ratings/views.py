"""The rating pages on a unit's subdomain: the applicant's form on their case page
(`/my/cases/<id>`, posted to `/my/cases/<id>/rating`) and the QR code's page (`/rate/<token>`),
which needs no sign-in. Every write goes through shared_apps.ratings.actions."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from govplatform.paging import page_for
from shared_apps.ratings import actions, queries, tokens
from shared_apps.ratings.models import REASONS, Channel, RatingToken, Rectification
from tenant_apps.cases import queries as case_queries
from tenant_apps.cases.models import Case
from tenant_apps.cases.views import case_page
from tenants.models import Tenant


def case_rating(case, user, posted: dict | None = None, errors=()) -> dict:
    """What the case page shows of the rating: the applicant's own rating, or the form while
    the case may be rated."""
    rating = queries.rating_of_case(case) if case.number else None
    return {
        "rating": rating,
        "rectification": Rectification.objects.filter(rating=rating).first() if rating else None,
        "rating_reasons": [REASONS[r] for r in rating.reasons if r in REASONS] if rating else [],
        "rating_open": rating is None
        and case.state in actions.RATEABLE
        and user.pk == case.applicant_id,
        "rating_choices": queries.choices(),
        "rating_posted": posted or {},
        "rating_errors": list(errors),
    }


def _posted(request) -> dict:
    return {
        "level": request.POST.get("level", ""),
        "reasons": request.POST.getlist("reasons")[: len(REASONS)],
        "comment": request.POST.get("comment", ""),
    }


def _level(posted) -> int | None:
    return int(posted["level"]) if posted["level"] in ("1", "2", "3", "4", "5") else None


def _messages(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return error.messages
    return [str(error.args[0]) if error.args else _("Not allowed.")]


def _my_case(request, public_id) -> Case:
    case = case_queries.find(public_id, among=case_queries.applicant_cases(request.user))
    if case is None:
        raise Http404(_("No such application of yours here."))
    return case


@login_required
@require_POST
def rate_case(request, public_id):
    case = _my_case(request, public_id)
    posted = _posted(request)
    channel = Channel.MOBILE if "Mobi" in request.headers.get("User-Agent", "") else Channel.PC
    try:
        actions.rate(
            case,
            actor=request.user,
            level=_level(posted),
            reasons=posted["reasons"],
            comment=posted["comment"],
            channel=channel,
            request=request,
        )
    except (ValidationError, PermissionDenied, actions.RatingConflict) as error:
        context = {"rating_override": case_rating(case, request.user, posted, _messages(error))}
        return case_page(request, case, status=400, context=context)
    return HttpResponseRedirect(reverse("cases:my_case", args=[case.public_id]) + "#rating")


@login_required
@require_POST
def answer(request, public_id):
    """The citizen answers the unit's report back on their bad rating."""
    case = _my_case(request, public_id)
    task = Rectification.objects.filter(case_public_id=case.public_id).first()
    if task is None:
        raise Http404(_("No report back on this case."))
    try:
        if request.POST.get("confirmed") not in ("yes", "no"):
            raise ValidationError(_("Say whether the problem has been solved."))
        actions.answer_report(
            task,
            actor=request.user,
            confirmed=request.POST["confirmed"] == "yes",
            comment=request.POST.get("comment", ""),
            request=request,
        )
    except (ValidationError, PermissionDenied, actions.RatingConflict) as error:
        context = {"rating_override": case_rating(case, request.user, None, _messages(error))}
        return case_page(request, case, status=400, context=context)
    return HttpResponseRedirect(reverse("cases:my_case", args=[case.public_id]) + "#rating")


@require_http_methods(["GET", "HEAD", "POST"])
def by_token(request, token):
    """扫码评价: whoever holds the acceptance notice rates its case once."""
    row = RatingToken.objects.filter(
        digest=tokens.digest(token[: tokens.TOKEN_LENGTH * 2]), tenant_id=request.tenant.id
    ).first()
    case = Case.objects.filter(public_id=row.case_public_id).first() if row else None
    context = {"case": case, "rating_choices": queries.choices(), "rating_posted": {}}
    if case is None:
        context["refused"] = _("This rating code is not valid.")
        return render(request, "ratings/by_token.html", context, status=404)
    if row.used_at is not None or queries.rating_of_case(case) is not None:
        context["refused"] = _("This case has been rated already; a rating can't be changed.")
        return render(request, "ratings/by_token.html", context, status=409)
    if case.state not in actions.RATEABLE:
        context["refused"] = _("A case is rated once its result has been delivered.")
        return render(request, "ratings/by_token.html", context, status=409)
    if request.method != "POST":
        return render(request, "ratings/by_token.html", context)
    posted = context["rating_posted"] = _posted(request)
    try:
        actions.rate_with_token(
            token,
            level=_level(posted),
            reasons=posted["reasons"],
            comment=posted["comment"],
            request=request,
        )
    except (actions.TokenRefused, actions.RatingConflict) as error:
        context["refused"] = _messages(error)[0]
        return render(request, "ratings/by_token.html", context, status=409)
    except ValidationError as error:
        context["rating_errors"] = _messages(error)
        return render(request, "ratings/by_token.html", context, status=400)
    return render(request, "ratings/by_token.html", {**context, "done": True})


# --- published statistics on the portal (好差评公示) ------------------------------------------------


def _percent(share) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


@require_safe
def portal_ranking(request):
    """Every rated unit of the province, the most satisfied first: figures only."""
    page = page_for(request, queries.ranking())
    for n, row in enumerate(page, start=page.start_index()):
        row.rank, row.satisfied_text = n, _percent(row.satisfied_share)
        row.on_time_text = _percent(row.on_time_share)
    figures = queries.province_figures()
    total = sum(figures[f"level_{n}"] for n in range(1, 6))
    satisfied = figures["level_1"] + figures["level_2"] + figures["level_3"]
    return render(
        request,
        "ratings/portal_ranking.html",
        {
            "page": page,
            "figures": figures,
            "total": total,
            "satisfied_text": _percent(satisfied / total if total else None),
        },
    )


@require_safe
def portal_unit_items(request, code):
    unit = Tenant.objects.filter(code=code).first()
    if unit is None:
        raise Http404(_("No such unit."))
    page = page_for(request, queries.unit_items(unit))
    for row in page:
        row.satisfied_text = _percent(row.satisfied_share)
        row.on_time_text = _percent(row.on_time_share)
    return render(request, "ratings/portal_unit_items.html", {"page": page, "unit": unit})
