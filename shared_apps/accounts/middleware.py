from shared_apps.accounts.models import ProxyConsent

ACTING_FOR_SESSION_KEY = "acting_for_consent"


class ProxyFilingMiddleware:
    """While an agent files for a citizen (代办), request.acting_for is that citizen: the audit log
    records every action there as done on their behalf. The consent is checked again on every
    request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.acting_for = None
        consent_id = (
            request.session.get(ACTING_FOR_SESSION_KEY) if hasattr(request, "session") else None
        )
        if consent_id and request.user.is_authenticated:
            consent = (
                ProxyConsent.objects.select_related("citizen")
                .filter(pk=consent_id, agent=request.user)
                .first()
            )
            if consent is None or not consent.is_valid():
                request.session.pop(ACTING_FOR_SESSION_KEY, None)
            elif consent.tenant_id == getattr(getattr(request, "tenant", None), "id", None):
                # A consent holds in its unit only (the sign-in covers every subdomain).
                request.acting_for = consent.citizen
        return self.get_response(request)
