"""Sign-up, sign-in (with a second factor for staff), my account, and staff administration."""

import base64

import segno
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from shared_apps.accounts import actions
from shared_apps.accounts.authz import is_staff_member, require_role
from shared_apps.accounts.forms import CodeForm, GrantRoleForm, SignInForm, SignUpForm
from shared_apps.accounts.models import Role, StaffMembership, User


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
    """Staff: the code of their authenticator app, enrolling one first if they have none."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device = TOTPDevice.objects.filter(
            user=user, confirmed=False
        ).first() or TOTPDevice.objects.create(
            user=user, name=_("Authenticator app"), confirmed=False
        )
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return redirect(_next(request))
        form.add_error("code", _("That code is not right, or has expired. Try the current one."))
    context = {"form": form, "enrolling": enrolling, "next": request.GET.get("next", "")}
    if enrolling:
        context["secret"] = base64.b32encode(device.bin_key).decode()
        context["qr_svg"] = segno.make(device.config_url).svg_inline(scale=4)
        context["config_url"] = device.config_url
    return render(request, "accounts/second_factor.html", context)


@login_required
def account(request):
    user = request.user
    revealed = None
    if request.method == "POST" and "reveal" in request.POST:
        revealed = actions.reveal_id_number(
            user, viewer=user, reason="self-service", request=request
        )
    memberships = StaffMembership.objects.filter(user=user, is_active=True).select_related("tenant")
    return render(
        request, "accounts/account.html", {"revealed": revealed, "memberships": memberships}
    )


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
    if request.method == "POST" and "revoke" in request.POST:
        revoke = request.POST["revoke"]
        if not (revoke.isascii() and revoke.isdigit() and len(revoke) < 19):
            return render(
                request, "400.html", {"message": _("No such role assignment.")}, status=400
            )
        membership = get_object_or_404(
            StaffMembership, pk=int(revoke), tenant=tenant, is_active=True
        )
        actions.revoke_role(actor=request.user, membership=membership, request=request)
        return redirect("staff")
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
                return redirect("staff")
    memberships = (
        StaffMembership.objects.filter(tenant=tenant, is_active=True)
        .select_related("user")
        .order_by("role")
    )
    return render(request, "accounts/staff.html", {"form": form, "memberships": memberships})
