"""Sign-up, sign-in (with a second factor for staff), my account, and staff administration."""

import base64

import segno
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from shared_apps.accounts import actions, throttling
from shared_apps.accounts.authz import (
    administered_people,
    is_staff_member,
    names_shown,
    require_role,
    with_roles_elsewhere,
)
from shared_apps.accounts.forms import CodeForm, GrantRoleForm, SignInForm, SignUpForm
from shared_apps.accounts.models import EnrolmentLink, Role, StaffMembership, User
from shared_apps.accounts.queries import consents_given, token_digest
from shared_apps.notifications.inbox import mark_read
from shared_apps.notifications.queries import inbox_page, unread_count


def _next(request, default="accounts:account"):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts=None, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


def sign_up(request):
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with throttling.password_checks() as admitted:
                if not admitted:
                    return throttling.busy(request)
                user = actions.register_citizen(**form.cleaned_data, request=request)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error("password", error.messages)
        else:
            login(request, user, backend="shared_apps.accounts.backends.IdentifierBackend")
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("accounts:account")
    return render(request, "accounts/sign_up.html", {"form": form})


def sign_in(request):
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with throttling.password_checks() as admitted:
            if not admitted:
                return throttling.busy(request)
            user = authenticate(request, **form.cleaned_data)
        if user is None:
            if getattr(request, "axes_locked_out", False):
                return render(request, "accounts/locked_out.html", status=429)
            form.add_error(None, _("Wrong account or password."))
        else:
            login(request, user)
            if is_staff_member(user):
                return redirect(f"{reverse('accounts:second_factor')}?next={_next(request)}")
            return redirect(_next(request))
    return render(
        request, "accounts/sign_in.html", {"form": form, "next": request.GET.get("next", "")}
    )


@login_required
def second_factor(request):
    """Staff: the code of their authenticator app. Without one they need an enrolment link from an
    administrator: a password alone never shows a secret."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    target = _next(request)
    if device is None:
        if target.startswith(reverse("accounts:enrol_confirm").removesuffix("confirm")):
            return redirect(target)  # signed in to use an enrolment link
        return render(request, "accounts/second_factor.html", {"no_device": True}, status=403)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            otp_login(request, device)
            return redirect(target)
        form.add_error("code", _("That code is not right, or has expired. Try the current one."))
    context = {"form": form, "next": request.GET.get("next", "")}
    return render(request, "accounts/second_factor.html", context)


ENROLLING_SESSION_KEY = "enrolling_totp_device"


@never_cache
@login_required
def enrol(request, code: str):
    """A staff member's one-time enrolment link. Opening it changes nothing; the button uses it
    (once) and the response shows the new secret once."""
    if request.method != "POST":
        usable = EnrolmentLink.objects.filter(
            digest=token_digest(code), user=request.user, used_at__isnull=True
        ).filter(expires_at__gt=timezone.now())
        context = {"usable": usable.exists()}
        status = 200 if context["usable"] else 403
        return render(request, "accounts/enrol.html", context, status=status)
    try:
        device = actions.start_totp_enrolment(actor=request.user, code=code, request=request)
    except PermissionDenied as error:
        return render(request, "accounts/enrol.html", {"error": str(error)}, status=403)
    request.session[ENROLLING_SESSION_KEY] = device.pk
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": CodeForm(),
            "secret": base64.b32encode(device.bin_key).decode(),
            "qr_svg": segno.make(device.config_url).svg_inline(scale=4),
        },
    )


@never_cache
@require_POST
@login_required
def enrol_confirm(request):
    device = TOTPDevice.objects.filter(
        pk=request.session.get(ENROLLING_SESSION_KEY), user=request.user, confirmed=False
    ).first()
    if device is None:
        error = _("This enrolment link is invalid, expired or already used.")
        return render(request, "accounts/enrol.html", {"error": error}, status=403)
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            actions.confirm_totp_enrolment(
                actor=request.user, device=device, code=form.cleaned_data["code"], request=request
            )
        except ValidationError as error:
            form.add_error("code", error.message_dict["code"])
        else:
            request.session.pop(ENROLLING_SESSION_KEY, None)
            otp_login(request, device)
            messages.success(request, _("Your authenticator app is set up."))
            return redirect("accounts:account")
    # The secret is not shown again: the app that scanned it has it.
    return render(request, "accounts/enrol.html", {"form": form, "confirming": True})


@login_required
def account(request):
    user = request.user
    revealed = None
    if request.method == "POST" and "reveal" in request.POST:
        revealed = actions.reveal_id_number(
            user, viewer=user, reason="self-service", request=request
        )
    memberships = StaffMembership.objects.filter(user=user, is_active=True).select_related("tenant")
    inbox = inbox_page(user, request.GET.get("page"))
    return render(
        request,
        "accounts/account.html",
        {
            "revealed": revealed,
            "memberships": memberships,
            "inbox": inbox,
            "unread": unread_count(user),
            "consents": consents_given(user)[:50],
            "now": timezone.now(),
        },
    )


@require_POST
@login_required
def consent_decision(request, consent_id: int):
    """The citizen confirms or revokes a consent in their name, from their account page."""
    consent = get_object_or_404(consents_given(request.user), pk=consent_id)
    try:
        if request.POST.get("decision") == "confirm":
            actions.confirm_consent(consent, actor=request.user, request=request)
            messages.success(request, _("You confirmed the consent."))
        else:
            actions.revoke_consent(consent, actor=request.user, request=request)
            messages.success(request, _("You revoked the consent."))
    except (PermissionDenied, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    return redirect("accounts:account")


@require_POST
@login_required
def mark_messages_read(request):
    """Mark one message of the person's inbox read, or all of them."""
    value = request.POST.get("message", "")
    if value == "all":
        mark_read(request.user)
    elif value.isascii() and value.isdigit() and len(value) < 19:
        mark_read(request.user, [int(value)])
    else:
        return render(request, "400.html", {"message": _("No such message.")}, status=400)
    page = request.POST.get("page", "")
    suffix = f"?page={page}" if page.isascii() and page.isdigit() and len(page) < 9 else ""
    return redirect(reverse("accounts:account") + suffix + "#messages")


@require_POST
def sign_out(request):
    logout(request)
    return redirect("/")


@require_POST
@login_required
def sign_out_everywhere(request):
    actions.sign_out_everywhere(request.user, request=request)
    logout(request)
    messages.info(request, _("You are signed out on every device."))
    return redirect("/")


@login_required
def staff(request):
    """A tenant administrator's page: who holds which role in this unit."""
    require_role(request, Role.TENANT_ADMIN)
    tenant = request.tenant
    form = GrantRoleForm(request.POST or None, roles=Role.choices)
    enrolment = None
    if request.method == "POST" and ("enrol" in request.POST or "revoke" in request.POST):
        field = "enrol" if "enrol" in request.POST else "revoke"
        value = request.POST[field]
        if not (value.isascii() and value.isdigit() and len(value) < 19):
            return render(
                request, "400.html", {"message": _("No such role assignment.")}, status=400
            )
        membership = get_object_or_404(
            StaffMembership, pk=int(value), tenant=tenant, is_active=True
        )
        if field == "revoke":
            actions.revoke_role(actor=request.user, membership=membership, request=request)
            return redirect("staff")
        enrolment = _enrolment_link(request, membership.user)
        form = GrantRoleForm(roles=Role.choices)
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"].strip()
        person = (
            User.objects.filter(phone=identifier).first()
            or User.objects.filter(username=identifier).first()
        )
        if person is None:
            form.add_error("identifier", _("No account has this phone number or user name."))
        else:
            try:
                actions.grant_role(
                    actor=request.user,
                    user=person,
                    tenant=tenant,
                    role=form.cleaned_data["role"],
                    covers_subtree=form.cleaned_data["covers_subtree"],
                    request=request,
                )
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                if TOTPDevice.objects.filter(user=person, confirmed=True).exists():
                    return redirect("staff")
                if person.pk not in administered_people(request.user, [person]):
                    # Their other units' administrators hand them a link, not this one.
                    return redirect("staff")
                # A new staff member enrols their authenticator app with this link.
                enrolment = _enrolment_link(request, person)
                form = GrantRoleForm(roles=Role.choices)
    memberships = list(
        with_roles_elsewhere(StaffMembership.objects.filter(tenant=tenant, is_active=True), tenant)
        .select_related("user")
        .order_by("role")
    )
    # The real name only of people this administrator manages wholly (no name by phone lookup).
    named = names_shown(request.user, memberships)
    for m in memberships:
        m.show_name = m.user_id in named
    return render(
        request,
        "accounts/staff.html",
        {"form": form, "memberships": memberships, "enrolment": enrolment},
    )


def _enrolment_link(request, person: User) -> dict:
    code = actions.issue_enrolment_link(
        actor=request.user, user=person, tenant=request.tenant, request=request
    )
    return {
        "person": person,
        "url": request.build_absolute_uri(reverse("accounts:enrol", args=[code])),
    }
