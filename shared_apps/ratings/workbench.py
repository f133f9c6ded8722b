"""The rectification pages of the staff workbench on a unit's subdomain (差评整改): the queue
(`/workbench/ratings`), a task (`/workbench/ratings/<id>`: the rating without its rater, the steps,
one form per step the person may take) and, for a unit above, the appeals of the units below it
(`/workbench/ratings/appeals`). A task of another unit is not found. Writes go through
shared_apps.ratings.actions, which check the step and the role again in their transaction."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from govplatform.paging import page_for
from shared_apps.accounts import authz
from shared_apps.accounts.models import Role
from shared_apps.ratings import actions
from shared_apps.ratings.models import REASONS, TIMED_STEPS, Rectification, Step
from tenant_apps.cases.workbench import READERS


def _tasks(request):
    return Rectification.objects.filter(tenant_id=request.tenant.id).select_related("rating")


def _task_or_404(request, task_id: int) -> Rectification:
    task = _tasks(request).filter(pk=task_id).first()
    if task is None:
        raise Http404(_("No such rectification in this unit."))
    return task


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def queue(request):
    authz.require_role(request, *READERS)
    open_first = _tasks(request).order_by("closed_at", "due_at", "-id")
    page = page_for(request, open_first)
    may_decide = Role.SUPERVISOR in authz.roles_in(request.user, request.tenant)
    return render(request, "ratings/workbench_queue.html", {"page": page, "may_decide": may_decide})


def _may_handle(request) -> bool:
    return bool(authz.roles_in(request.user, request.tenant) & actions.HANDLERS)


def _render(request, task, *, errors=(), status=200):
    handles = _may_handle(request)
    forms = []
    if handles and task.step == Step.VERIFY:
        forms.append("verify")
    if handles and task.step == Step.RECTIFY:
        forms.append("report_back")
    if handles and task.step in TIMED_STEPS and task.tenant.parent_id:
        forms.append("appeal")
    return render(
        request,
        "ratings/workbench_task.html",
        {
            "task": task,
            "rating": task.rating,
            "reasons": [REASONS[r] for r in task.rating.reasons if r in REASONS],
            "forms": forms,
            "errors": list(errors),
            "decide": False,
        },
        status=status,
    )


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def task_page(request, task_id: int):
    authz.require_role(request, *READERS)
    return _render(request, _task_or_404(request, task_id))


@login_required
@require_POST
def step(request, task_id: int, name: str):
    authz.require_role(request, *actions.HANDLERS)
    task = _task_or_404(request, task_id)
    post = request.POST
    runs = {
        "verify": lambda: actions.verify(
            task, actor=request.user, findings=post.get("findings", ""), request=request
        ),
        "report_back": lambda: actions.report_back(
            task,
            actor=request.user,
            measures=post.get("measures", ""),
            report=post.get("report", ""),
            request=request,
        ),
        "appeal": lambda: actions.appeal(
            task, actor=request.user, reason=post.get("reason", ""), request=request
        ),
    }
    if name not in runs:
        raise Http404
    try:
        runs[name]()
    except ValidationError as error:
        return _render(request, task, errors=error.messages, status=400)
    except (PermissionDenied, actions.RatingConflict) as error:
        return _render(request, task, errors=[str(error)], status=409)
    messages.success(request, _("Saved."))
    return redirect("workbench:rectification", task_id=task.pk)


# --- the unit above: appeals ---------------------------------------------------------------------


def _appeals(request):
    return Rectification.objects.filter(
        tenant__parent_id=request.tenant.id, step=Step.APPEALED
    ).select_related("rating", "tenant")


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def appeals(request):
    authz.require_role(request, Role.SUPERVISOR)
    page = page_for(request, _appeals(request).order_by("id"))
    return render(request, "ratings/workbench_appeals.html", {"page": page})


@login_required
@require_POST
def decide(request, task_id: int):
    authz.require_role(request, Role.SUPERVISOR)
    task = _appeals(request).filter(pk=task_id).first()
    if task is None:
        raise Http404(_("No such appeal from a unit below."))
    upheld = request.POST.get("upheld")
    try:
        if upheld not in ("yes", "no"):
            raise ValidationError(_("Choose whether the appeal is upheld."))
        actions.decide_appeal(
            task,
            actor=request.user,
            upheld=upheld == "yes",
            reason=request.POST.get("reason", ""),
            request=request,
        )
    except (ValidationError, PermissionDenied, actions.RatingConflict) as error:
        messages.error(request, " ".join(getattr(error, "messages", None) or [str(error)]))
        return redirect("workbench:rating_appeals")
    messages.success(request, _("Saved."))
    return redirect("workbench:rating_appeals")
