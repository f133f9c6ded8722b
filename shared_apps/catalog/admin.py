"""Provincial catalog administration. Items change through actions; a guide is edited only as a
draft and published by an action (published versions are read-only, in the database too)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from govplatform.admin_site import AuditedAdmin, ReadOnlyAdmin
from shared_apps.catalog import actions
from shared_apps.catalog.models import (
    BasicItem,
    Bundle,
    GuideMaterial,
    GuideVersion,
    Implementation,
    ParallelDepartment,
    ParallelReview,
)


@admin.register(BasicItem)
class BasicItemAdmin(AuditedAdmin):
    list_display = ["code", "name", "item_type"]
    list_filter = ["item_type"]
    search_fields = ["code", "name"]
    fields = ["code", "name", "exercising_levels", "main_item", "themes", "keywords"]
    autocomplete_fields = ["main_item"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def save_model(self, request, obj, form, change):
        saved = actions.save_basic_item(
            actor=request.user,
            code=obj.code,
            name=obj.name,
            exercising_levels=obj.exercising_levels,
            themes=obj.themes,
            keywords=obj.keywords,
            main_item_code=obj.main_item.code if obj.main_item else None,
            request=request,
        )
        obj.pk = saved.pk


class GuideMaterialInline(admin.TabularInline):
    model = GuideMaterial
    extra = 1

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.status == GuideVersion.Status.DRAFT

    has_add_permission = has_delete_permission = has_change_permission


@admin.register(GuideVersion)
class GuideVersionAdmin(AuditedAdmin):
    list_display = ["item", "number", "status", "valid_from", "valid_to"]
    list_filter = ["status"]
    search_fields = ["item__name", "item__code"]
    inlines = [GuideMaterialInline]
    exclude = ["status", "valid_from", "valid_to", "published_at"]
    autocomplete_fields = ["item"]
    actions = ["publish"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or obj.status == GuideVersion.Status.DRAFT
        )

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    @admin.action(description=_("Publish the selected drafts now"))
    def publish(self, request, queryset):
        for version in queryset:
            try:
                actions.publish_version(version, actor=request.user, request=request)
            except ValidationError as error:
                self.message_user(request, f"{version}: {' '.join(error.messages)}", messages.ERROR)


@admin.register(Implementation)
class ImplementationAdmin(ReadOnlyAdmin):
    """Units manage their own lists (API and pages); the province looks."""

    list_display = ["code", "item", "tenant", "department_name", "promised_days", "status"]
    list_filter = ["status", "exercising_level"]
    search_fields = ["code", "item__name", "tenant__name"]
    list_select_related = ["item", "tenant"]


class ParallelDepartmentInline(admin.TabularInline):
    model = ParallelDepartment
    fields = ["tenant", "department_name", "days"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ParallelReview)
class ParallelReviewAdmin(ReadOnlyAdmin):
    """并联审批 set by each unit's administrator (actions.set_parallel_review); the province looks."""

    list_display = ["implementation", "rule", "updated_at"]
    list_filter = ["rule"]
    search_fields = ["implementation__code", "implementation__item__name"]
    list_select_related = ["implementation__item"]
    inlines = [ParallelDepartmentInline]


@admin.register(Bundle)
class BundleAdmin(ReadOnlyAdmin):
    """一件事一次办, defined through actions.save_bundle; the province looks."""

    list_display = ["code", "name", "tenant", "updated_at"]
    search_fields = ["code", "name"]
    list_select_related = ["tenant"]
