"""The operators' view of the hand-off queue (移交队列): what waits, what failed and why, and
`retry` for a failed hand-off once its cause is fixed (actions.retry, audited). Rows change only
through the case actions and the relay; the payload (the applicant's form data) is not shown."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from govplatform.admin_site import ReadOnlyAdmin
from shared_apps.handoffs import actions
from shared_apps.handoffs.models import Handoff, Status


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "from_tenant",
        "to_tenant",
        "case_number",
        "status",
        "attempts",
        "created_at",
        "applied_at",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["from_tenant", "to_tenant"]
    search_fields = ["case_number"]
    show_full_result_count = False  # the queue grows without bound; its count is not worth a scan
    fields = [
        "kind",
        "from_tenant",
        "to_tenant",
        "case_number",
        "case_public_id",
        "status",
        "attempts",
        "reason",
        "created_at",
        "applied_at",
    ]
    actions = ["retry_failed"]

    @admin.action(description=_("Retry the selected failed hand-offs"))
    def retry_failed(self, request, queryset):
        retried = 0
        for handoff in queryset.filter(status=Status.FAILED).order_by("id"):
            try:
                actions.retry(handoff, actor=request.user, request=request)
            except PermissionDenied as error:
                self.message_user(request, str(error), messages.ERROR)
                return
            retried += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d hand-off will be tried again.",
                "%(count)d hand-offs will be tried again.",
                retried,
            )
            % {"count": retried},
            messages.SUCCESS if retried else messages.WARNING,
        )
