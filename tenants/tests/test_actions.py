"""The tenant actions decide who may change a unit's status, whatever calls them."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from tenants import actions
from tenants.models import Tenant


def test_only_provincial_admins_with_a_second_factor_suspend_or_resume(
    django_user_model, provincial_admin, tenant
):
    clerk = django_user_model.objects.create_user("clerk", password="a long enough password")
    with pytest.raises(PermissionDenied):
        actions.suspend_tenant(tenant, actor=clerk, reason="系统升级")
    with pytest.raises(PermissionDenied):
        actions.resume_tenant(tenant, actor=clerk)
    # Through the web, the administrator must have signed in with their second factor.
    request = RequestFactory().post("/")
    request.user = provincial_admin
    provincial_admin.is_verified = lambda: False
    with pytest.raises(PermissionDenied):
        actions.suspend_tenant(tenant, actor=provincial_admin, reason="系统升级", request=request)
    assert Tenant.objects.get(pk=tenant.pk).status == Tenant.Status.ACTIVE
    provincial_admin.is_verified = lambda: True
    actions.suspend_tenant(tenant, actor=provincial_admin, reason="系统升级", request=request)
    assert Tenant.objects.get(pk=tenant.pk).status == Tenant.Status.SUSPENDED
