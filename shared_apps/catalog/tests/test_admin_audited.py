"""Every change a provincial administrator makes in the Django admin leaves an audit entry (the
admin's own history is no tamper-evident record), and the portal admin shows no unit tables."""

from django.conf import settings

from conftest import sign_in_with_second_factor
from shared_apps.audit.models import AuditEntry
from shared_apps.catalog import actions
from shared_apps.catalog.models import BasicItem, GuideVersion
from tenants.models import Domain, Tenant
from tests.helpers import host_of


def form_data(response) -> dict:
    """The POST data of an admin change or add page as shown, inlines included."""
    data = {}

    def add(form):
        for name, field in form.fields.items():
            value = field.prepare_value(form[name].value())
            if isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
            elif value is not None:
                data[form.add_prefix(name)] = value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        data[formset.management_form.add_prefix("TOTAL_FORMS")] = len(formset.initial_forms)
        for form in formset.initial_forms:
            add(form)
    return data


def entries(verb, label):
    return AuditEntry.objects.filter(action=f"admin.{verb}", target__startswith=label)


def test_domains_guides_and_items_changed_in_the_admin_are_audited(client, root, make_item):
    sign_in_with_second_factor(client, root)
    host = settings.BASE_DOMAIN
    unit = Tenant.objects.get(code="410102000000")

    added = client.post(
        "/admin/tenants/domain/add/",
        {"domain": "zhongyuan-extra.example.cn", "tenant": unit.pk},
        HTTP_HOST=host,
    )
    assert added.status_code == 302
    domain = Domain.objects.get(domain="zhongyuan-extra.example.cn")
    added_entry = entries("add", "tenants.Domain").get()
    assert added_entry.actor_user == root and added_entry.tenant_code == unit.code
    page = client.get(f"/admin/tenants/domain/{domain.pk}/change/", HTTP_HOST=host)
    changed = client.post(
        f"/admin/tenants/domain/{domain.pk}/change/",
        {**form_data(page), "domain": "zhongyuan-other.example.cn"},
        HTTP_HOST=host,
    )
    assert changed.status_code == 302 and entries("change", "tenants.Domain").count() == 1
    deleted = client.post(
        f"/admin/tenants/domain/{domain.pk}/delete/", {"post": "yes"}, HTTP_HOST=host
    )
    assert deleted.status_code == 302 and not Domain.objects.filter(pk=domain.pk).exists()
    assert entries("delete", "tenants.Domain").get().tenant_code == unit.code

    # A draft guide changed in the admin, and one added there.
    item = make_item()
    draft = actions.draft_version(
        item,
        actor=root,
        legal_basis="《食品安全法》",
        conditions="旧条件",
        process="申请、受理",
        statutory_days=20,
        materials=[{"name": "申请书"}],
    )
    page = client.get(f"/admin/catalog/guideversion/{draft.pk}/change/", HTTP_HOST=host)
    data = {**form_data(page), "conditions": "新条件"}
    changed = client.post(f"/admin/catalog/guideversion/{draft.pk}/change/", data, HTTP_HOST=host)
    assert changed.status_code == 302, (
        changed.context["adminform"].form.errors,
        [f.errors for f in changed.context["inline_admin_formsets"][0].formset],
        changed.context["inline_admin_formsets"][0].formset.non_form_errors(),
    )
    draft.refresh_from_db()
    assert draft.conditions == "新条件" and entries("change", "catalog.GuideVersion").count() == 1
    blank = client.get("/admin/catalog/guideversion/add/", HTTP_HOST=host)
    main = {k: v for k, v in data.items() if "-" not in k}
    added = client.post(
        "/admin/catalog/guideversion/add/",
        {**form_data(blank), **main, "number": draft.number + 1},
        HTTP_HOST=host,
    )
    assert added.status_code == 302, added.context["adminform"].form.errors
    assert GuideVersion.objects.filter(item=item, number=draft.number + 1).exists()
    assert entries("add", "catalog.GuideVersion").count() == 1

    # Basic items deleted with the list's "delete selected" action.
    spare = actions.save_basic_item(
        actor=root,
        code="410100098000",
        name="待删事项",
        exercising_levels=[4],
        themes=[],
        keywords=[],
    )
    deleted = client.post(
        "/admin/catalog/basicitem/",
        {"action": "delete_selected", "_selected_action": [spare.pk], "post": "yes"},
        HTTP_HOST=host,
    )
    assert deleted.status_code == 302 and not BasicItem.objects.filter(pk=spare.pk).exists()
    assert entries("delete", "catalog.BasicItem").count() == 1


def test_before_retirement_fields_are_read_only(client, root):
    sign_in_with_second_factor(client, root)
    unit = Tenant.objects.get(code="410102000000")
    page = client.get(f"/admin/tenants/tenant/{unit.pk}/change/", HTTP_HOST=settings.BASE_DOMAIN)
    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) == set()


def test_portal_admin_has_no_departments_page(client, root):
    sign_in_with_second_factor(client, root)
    host = settings.BASE_DOMAIN
    assert "/admin/departments/" not in client.get("/admin/", HTTP_HOST=host).content.decode()
    assert client.get("/admin/departments/department/", HTTP_HOST=host).status_code in (403, 404)
    # On a unit's host, where its schema has the table, the page is there.
    unit = Tenant.objects.get(code="410102000000")
    assert client.get("/admin/departments/department/", HTTP_HOST=host_of(unit)).status_code == 200


def test_every_admin_is_audited():
    from django.contrib import admin

    from govplatform.admin_site import AuditedAdmin

    plain = [
        m._meta.label for m, a in admin.site._registry.items() if not isinstance(a, AuditedAdmin)
    ]
    assert plain == []
