"""The payment pages on the provincial portal (`public` schema): an order found by its slip
number alone — no sign-in, and then only its amount, its unit and whether it is paid — the start
of the payment at the provider, the payer's return from it and the provider's notification."""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from shared_apps.payments import actions, receipts
from shared_apps.payments.models import OrderState, Outcome
from shared_apps.payments.providers import provider
from shared_apps.payments.queries import order_by_slip
from tenants.links import portal_url

SLIP = re.compile(r"[0-9A-Za-z]{1,50}", re.ASCII)


def _order(slip_number: str):
    order = order_by_slip(slip_number) if SLIP.fullmatch(slip_number) else None
    if order is None:
        raise Http404
    return order


@require_GET
def find(request):
    """缴款: type the payment slip number."""
    slip = request.GET.get("slip", "").strip()
    error = ""
    if slip:
        if SLIP.fullmatch(slip) and order_by_slip(slip) is not None:
            return redirect("payments:order", slip)
        error = "not_found"
    return render(request, "payments/find.html", {"slip": slip[:50], "error": error})


@never_cache
@require_GET
def order_page(request, slip_number):
    order = _order(slip_number)
    payer = request.user.is_authenticated and request.user.pk == order.payer_id
    context = {
        "order": order,
        "payer": payer,
        "items": list(order.items.all()) if payer else [],
        "can_pay": order.state == OrderState.PENDING and provider() is not None,
        "no_provider": provider() is None,
        "receipt": payer and order.state == OrderState.PAID,
    }
    response = render(request, "payments/order.html", context)
    if context["can_pay"]:
        # The pay button's form is redirected to the gateway: its origin joins form-action.
        gateway = urlsplit(settings.PAYMENT_GATEWAY_URL)
        response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {gateway.scheme}://{gateway.netloc}", 1
        )
    return response


@require_POST
def start(request, slip_number):
    """Send the payer's browser to the provider with the signed payment request."""
    order = _order(slip_number)
    gateway = provider()
    if order.state != OrderState.PENDING or gateway is None:
        return redirect("payments:order", order.slip_number)
    url = gateway.payment_url(
        order,
        return_url=portal_url(reverse("payments:return", args=[order.slip_number]), request),
        notify_url=portal_url(reverse("payments:notify"), request),
    )
    return HttpResponseRedirect(url)


@never_cache
@require_GET
def payer_return(request, slip_number):
    """The payer back from the provider, with its signed result: recorded like a notification
    (whichever comes first pays the order), then the order's page."""
    order = _order(slip_number)
    gateway = provider()
    if gateway is not None and "sign" in request.GET:
        actions.receive_result(gateway, request.GET, via="return", request=request)
    return redirect("payments:order", order.slip_number)


@csrf_exempt  # signed by the provider instead
@require_POST
def notify(request):
    """The provider's server-to-server notification. `success` stops its retries: every signed
    result is kept (an unknown order or a wrong amount goes to finance, not back to the
    provider); an unsigned one is refused."""
    gateway = provider()
    if gateway is None:
        raise Http404
    row = actions.receive_result(gateway, request.POST, via="notify", request=request)
    accepted = row.outcome != Outcome.BAD_SIGNATURE
    return HttpResponse(
        gateway.answer(accepted), status=200 if accepted else 400, content_type="text/plain"
    )


@never_cache
@require_GET
def receipt(request, slip_number):
    """The receipt PDF, for the payer signed in; anyone else learns nothing (404)."""
    order = _order(slip_number)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.pk != order.payer_id or order.state != OrderState.PAID:
        raise Http404
    response = HttpResponse(receipts.receipt_pdf(order, request), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{order.slip_number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def check(request, slip_number):
    """核验: anyone holding a receipt checks that the platform issued it. Only the slip number,
    the amount, the unit, the day paid and the payer's masked name are shown."""
    order = order_by_slip(slip_number) if SLIP.fullmatch(slip_number) else None
    code = request.GET.get("c", "")[:64]
    if not receipts.is_genuine(order, code):
        return render(request, "payments/check.html", {"slip": slip_number[:50]}, status=404)
    context = {"order": order, "payer": receipts.payer_name(order)}
    return render(request, "payments/check.html", context)
