from django import forms
from django.contrib import admin

from govplatform.admin_site import AuditedAdmin
from tenant_apps.departments.actions import create_department, update_department
from tenant_apps.departments.models import Department
from tenant_apps.departments.queries import check_credit_code_free, current_tenant


class DepartmentForm(forms.ModelForm):
    class Meta:
        model = Department
        fields = ["name", "credit_code", "phone", "address", "is_active"]

    def clean_credit_code(self):
        # The provincial register says whether another unit's department holds the code.
        code = self.cleaned_data["credit_code"].strip().upper()
        check_credit_code_free(code, tenant=current_tenant(), department_id=self.instance.pk)
        return code


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    form = DepartmentForm
    list_display = ["name", "credit_code", "phone", "is_active"]
    search_fields = ["name", "credit_code"]
    fields = ["name", "credit_code", "phone", "address", "is_active"]

    def save_model(self, request, obj, form, change):
        if change:
            update_department(
                Department.objects.get(pk=obj.pk),
                actor=request.user,
                request=request,
                **{f: form.cleaned_data[f] for f in form.changed_data},
            )
        else:
            data = {f: form.cleaned_data[f] for f in ["name", "credit_code", "phone", "address"]}
            obj.pk = create_department(actor=request.user, request=request, **data).pk

    def has_delete_permission(self, request, obj=None):
        return False
