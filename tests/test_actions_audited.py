"""Every action writes its audit entry (as Zulip checks for its `do_*` functions).

The actions are found by import: every public function of every `actions` module of the platform.
Each needs a recipe below that calls it and names the one audit entry it must append; an action
without a recipe fails here, so none can be added unaudited. Reads and helpers don't belong in an
`actions` module (they go to `queries`): they could not pass, as they write no entry.
"""

import importlib
import inspect
import pkgutil
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from shared_apps.audit.models import AuditEntry
from tests.helpers import current_totp, make_id_number

PACKAGES = ["govplatform", "shared_apps", "tenant_apps", "tenants"]
PASSWORD = "正确的马电池订书钉"


def discovered_actions() -> list[str]:
    found = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        modules = [package_name] + [
            info.name for info in pkgutil.walk_packages(package.__path__, f"{package_name}.")
        ]
        for module_name in modules:
            if module_name.rsplit(".", 1)[-1] != "actions":
                continue
            module = importlib.import_module(module_name)
            found += [
                f"{module_name}.{name}"
                for name, value in vars(module).items()
                if inspect.isfunction(value)
                and value.__module__ == module_name
                and not name.startswith("_")
            ]
    return sorted(found)


RECIPES = {}


def recipe(name):
    def register(function):
        RECIPES[name] = function
        return function

    return register


class World:
    """The people and places the recipes act with; built lazily, per test."""

    def __init__(self, django_user_model, tenant):
        from shared_apps.accounts import actions
        from shared_apps.accounts.models import Role

        self.tenant = tenant
        self.users = django_user_model
        self.root = django_user_model.objects.create_superuser("audit-root", password=PASSWORD)
        self.citizen = actions.register_citizen(
            real_name="周一",
            id_number=make_id_number(sequence="551"),
            phone="13700000551",
            password=PASSWORD,
        )
        self.citizen.assurance_level = 2
        self.citizen.save(update_fields=["assurance_level"])
        self.clerk = self.staff("audit-clerk", Role.WINDOW_CLERK)
        self.agent = self.staff("audit-agent", Role.PROXY_AGENT)

    def staff(self, username, role):
        from shared_apps.accounts import actions

        user = self.users.objects.create_user(username, password=PASSWORD)
        actions.grant_role(actor=self.root, user=user, tenant=self.tenant, role=role)
        return user

    def consent(self, **overrides):
        from shared_apps.accounts import actions

        given = {
            "actor": self.clerk,
            "citizen": self.citizen,
            "agent": self.agent,
            "tenant": self.tenant,
            "purpose": "代办社保",
            "valid_until": timezone.now() + timedelta(days=10),
            "evidence": "授权书 No.0551",
        }
        return actions.record_consent(**{**given, **overrides})

    def published_item(self, code="410100551000"):
        from shared_apps.catalog import actions

        item = actions.save_basic_item(
            actor=self.root, code=code, name="审计测试事项", exercising_levels=[4]
        )
        version = actions.draft_version(
            item,
            actor=self.root,
            legal_basis="《行政许可法》",
            conditions="无",
            process="申请、受理、决定",
            statutory_days=20,
            materials=[{"name": "申请书"}],
            max_online_depth=4,
        )
        actions.publish_version(version, actor=self.root)
        return item, version

    def implement_item(self, implement):
        """The set-up done now; the returned call implements the item."""
        from shared_apps.catalog.tests.conftest import make_department

        item, version = self.published_item()
        department = make_department(self.tenant)
        return lambda: implement(
            actor=self.root,
            tenant=self.tenant,
            department=department,
            item=item,
            promised_days=10,
            place="政务服务中心",
            hours="工作日",
            enquiry_phone="0371-12345",
            complaint_phone="12345",
            online_depth=4,
            material_ids=[m.id for m in version.materials.all()],
        )


# --- audit -------------------------------------------------------------------------------------


@recipe("shared_apps.audit.actions.record_audit")
def _(w):
    from shared_apps.audit.actions import record_audit

    return lambda: record_audit(actor="system:tests", action="tests.probe", target="x"), {
        "action": "tests.probe",
        "target": "x",
    }


@recipe("shared_apps.audit.actions.record_audit_many")
def _(w):
    from shared_apps.audit.actions import record_audit_many

    return lambda: record_audit_many(
        actor="system:tests", action="tests.probe", tenant=w.tenant, entries=[("x", {})]
    ), {"action": "tests.probe", "target": "x", "tenant_code": w.tenant.code}


# --- accounts ----------------------------------------------------------------------------------


@recipe("shared_apps.accounts.actions.register_citizen")
def _(w):
    from shared_apps.accounts import actions

    return lambda: actions.register_citizen(
        real_name="吴二",
        id_number=make_id_number(sequence="552"),
        phone="13700000552",
        password=PASSWORD,
    ), {"action": "accounts.register"}


@recipe("shared_apps.accounts.actions.reveal_id_number")
def _(w):
    from shared_apps.accounts import actions

    return lambda: actions.reveal_id_number(w.citizen, viewer=w.citizen, reason="self"), {
        "action": "accounts.reveal_id_number",
        "target": w.citizen.username,
    }


@recipe("shared_apps.accounts.actions.sign_out_everywhere")
def _(w):
    from shared_apps.accounts import actions

    return lambda: actions.sign_out_everywhere(w.citizen), {
        "action": "accounts.sign_out_everywhere",
        "target": w.citizen.username,
    }


@recipe("shared_apps.accounts.actions.grant_role")
def _(w):
    from shared_apps.accounts import actions
    from shared_apps.accounts.models import Role

    person = w.users.objects.create_user("audit-new", password=PASSWORD)
    return lambda: actions.grant_role(
        actor=w.root, user=person, tenant=w.tenant, role=Role.REVIEWER
    ), {"action": "accounts.grant_role", "target": "audit-new", "tenant_code": w.tenant.code}


@recipe("shared_apps.accounts.actions.revoke_role")
def _(w):
    from shared_apps.accounts import actions
    from shared_apps.accounts.models import StaffMembership

    membership = StaffMembership.objects.get(user=w.clerk)
    return lambda: actions.revoke_role(actor=w.root, membership=membership), {
        "action": "accounts.revoke_role",
        "target": w.clerk.username,
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.accounts.actions.record_consent")
def _(w):
    return w.consent, {
        "action": "accounts.record_consent",
        "actor": w.clerk.username,
        "target": w.citizen.username,
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.accounts.actions.confirm_consent")
def _(w):
    from shared_apps.accounts import actions
    from shared_apps.accounts.models import ConsentEvidence

    consent = w.consent(evidence_kind=ConsentEvidence.CITIZEN_ONLINE, evidence="")
    return lambda: actions.confirm_consent(consent, actor=w.citizen), {
        "action": "accounts.confirm_consent",
        "actor": w.citizen.username,
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.accounts.actions.revoke_consent")
def _(w):
    from shared_apps.accounts import actions

    consent = w.consent()
    return lambda: actions.revoke_consent(consent, actor=w.citizen), {
        "action": "accounts.revoke_consent",
        "actor": w.citizen.username,
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.accounts.actions.start_proxy_filing")
def _(w):
    from shared_apps.accounts import actions

    w.consent()
    return lambda: actions.start_proxy_filing(
        actor=w.agent, citizen=w.citizen, tenant=w.tenant, session={}
    ), {
        "action": "accounts.proxy_start",
        "target": w.citizen.username,
        "on_behalf_of": w.citizen.audit_label,
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.accounts.actions.stop_proxy_filing")
def _(w):
    from shared_apps.accounts import actions

    w.consent()
    session = {}
    actions.start_proxy_filing(actor=w.agent, citizen=w.citizen, tenant=w.tenant, session=session)
    return lambda: actions.stop_proxy_filing(actor=w.agent, session=session, tenant=w.tenant), {
        "action": "accounts.proxy_stop",
        "target": w.citizen.username,
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.accounts.actions.issue_enrolment_link")
def _(w):
    from shared_apps.accounts import actions

    return lambda: actions.issue_enrolment_link(actor=w.root, user=w.clerk, tenant=w.tenant), {
        "action": "accounts.issue_enrolment_link",
        "actor": w.root.username,
        "target": w.clerk.username,
    }


@recipe("shared_apps.accounts.actions.start_totp_enrolment")
def _(w):
    from shared_apps.accounts import actions

    code = actions.issue_enrolment_link(actor=w.root, user=w.clerk, tenant=w.tenant)
    return lambda: actions.start_totp_enrolment(actor=w.clerk, code=code), {
        "action": "accounts.start_totp_enrolment",
        "target": w.clerk.username,
    }


@recipe("shared_apps.accounts.actions.confirm_totp_enrolment")
def _(w):
    from shared_apps.accounts import actions

    code = actions.issue_enrolment_link(actor=w.root, user=w.clerk, tenant=w.tenant)
    device = actions.start_totp_enrolment(actor=w.clerk, code=code)
    return lambda: actions.confirm_totp_enrolment(
        actor=w.clerk, device=device, code=current_totp(w.clerk)
    ), {"action": "accounts.confirm_totp", "target": w.clerk.username}


@recipe("shared_apps.accounts.actions.issue_user_tokens")
def _(w):
    from shared_apps.accounts import actions

    return lambda: actions.issue_user_tokens(w.citizen), {
        "action": "accounts.issue_token",
        "target": w.citizen.username,
    }


@recipe("shared_apps.accounts.actions.refresh_user_tokens")
def _(w):
    from shared_apps.accounts import actions

    issued = actions.issue_user_tokens(w.citizen)
    return lambda: actions.refresh_user_tokens(issued.refresh_token), {
        "action": "accounts.issue_token",
        "target": w.citizen.username,
    }


@recipe("shared_apps.accounts.actions.revoke_token")
def _(w):
    from shared_apps.accounts import actions

    issued = actions.issue_user_tokens(w.citizen)
    return lambda: actions.revoke_token(issued.refresh_token), {
        "action": "accounts.revoke_token",
        "actor": w.citizen.username,
        "target": w.citizen.username,
    }


@recipe("shared_apps.accounts.actions.revoke_token_family")
def _(w):
    from shared_apps.accounts import actions
    from shared_apps.accounts.models import ApiToken

    actions.issue_user_tokens(w.citizen)
    token = ApiToken.objects.filter(user=w.citizen).latest("id")
    return lambda: actions.revoke_token_family(token), {
        "action": "accounts.refresh_token_reused",
        "actor": w.citizen.username,
        "target": w.citizen.username,
    }


@recipe("shared_apps.accounts.actions.create_system_client")
def _(w):
    from shared_apps.accounts import actions

    return lambda: actions.create_system_client(
        actor=w.root, name="部门业务系统", scopes=["departments:read"], tenant=w.tenant
    ), {"action": "accounts.create_system_client", "tenant_code": w.tenant.code}


@recipe("shared_apps.accounts.actions.issue_client_token")
def _(w):
    from shared_apps.accounts import actions

    client, secret = actions.create_system_client(
        actor=w.root, name="部门业务系统", scopes=["departments:read"], tenant=w.tenant
    )
    return lambda: actions.issue_client_token(client.client_id, secret), {
        "action": "accounts.issue_client_token",
        "actor": f"client:{client.client_id}",
        "target": client.client_id,
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.accounts.actions.register_organisation")
def _(w):
    from shared_apps.accounts import actions

    return lambda: actions.register_organisation(
        legal_representative=w.citizen,
        name="郑州某某科技有限公司",
        credit_code="91410102MA0000012Y",
    ), {"action": "accounts.register_organisation", "target": "91410102MA0000012Y"}


@recipe("shared_apps.accounts.actions.add_organisation_agent")
def _(w):
    from shared_apps.accounts import actions

    company = actions.register_organisation(
        legal_representative=w.citizen,
        name="郑州某某科技有限公司",
        credit_code="91410102MA0000012Y",
    )
    return lambda: actions.add_organisation_agent(company, actor=w.citizen, agent=w.clerk), {
        "action": "accounts.add_organisation_agent",
        "target": "91410102MA0000012Y",
    }


# --- tenants -----------------------------------------------------------------------------------


@recipe("tenants.actions.suspend_tenant")
def _(w):
    from tenants import actions

    return lambda: actions.suspend_tenant(w.tenant, actor=w.root, reason="系统维护"), {
        "action": "tenants.suspend",
        "tenant_code": w.tenant.code,
    }


@recipe("tenants.actions.resume_tenant")
def _(w):
    from tenants import actions

    actions.suspend_tenant(w.tenant, actor=w.root, reason="系统维护")
    return lambda: actions.resume_tenant(w.tenant, actor=w.root), {
        "action": "tenants.resume",
        "tenant_code": w.tenant.code,
    }


# --- catalog -----------------------------------------------------------------------------------


@recipe("shared_apps.catalog.actions.save_basic_item")
def _(w):
    from shared_apps.catalog import actions

    return lambda: actions.save_basic_item(
        actor=w.root, code="410100552000", name="审计测试事项", exercising_levels=[4]
    ), {"action": "catalog.save_item", "target": "410100552000"}


@recipe("shared_apps.catalog.actions.draft_version")
def _(w):
    from shared_apps.catalog import actions

    item = actions.save_basic_item(
        actor=w.root, code="410100553000", name="审计测试事项", exercising_levels=[4]
    )
    return lambda: actions.draft_version(
        item,
        actor=w.root,
        legal_basis="《行政许可法》",
        conditions="无",
        process="申请、受理、决定",
        statutory_days=20,
        materials=[{"name": "申请书"}],
        max_online_depth=4,
    ), {"action": "catalog.draft_version"}


@recipe("shared_apps.catalog.actions.publish_version")
def _(w):
    from shared_apps.catalog import actions

    item = actions.save_basic_item(
        actor=w.root, code="410100554000", name="审计测试事项", exercising_levels=[4]
    )
    version = actions.draft_version(
        item,
        actor=w.root,
        legal_basis="《行政许可法》",
        conditions="无",
        process="申请、受理、决定",
        statutory_days=20,
        materials=[{"name": "申请书"}],
        max_online_depth=4,
    )
    return lambda: actions.publish_version(version, actor=w.root), {
        "action": "catalog.publish_version"
    }


@recipe("shared_apps.catalog.actions.implement_item")
def _(w):
    from shared_apps.catalog import actions

    return w.implement_item(actions.implement_item), {
        "action": "catalog.implement",
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.catalog.actions.publish_implementation")
def _(w):
    from shared_apps.catalog import actions

    implementation = w.implement_item(actions.implement_item)()
    return lambda: actions.publish_implementation(implementation, actor=w.root, tenant=w.tenant), {
        "action": "catalog.publish_implementation",
        "target": implementation.code,
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.catalog.actions.withdraw_implementation")
def _(w):
    from shared_apps.catalog import actions

    implementation = w.implement_item(actions.implement_item)()
    actions.publish_implementation(implementation, actor=w.root, tenant=w.tenant)
    return lambda: actions.withdraw_implementation(implementation, actor=w.root, tenant=w.tenant), {
        "action": "catalog.withdraw_implementation",
        "target": implementation.code,
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.catalog.actions.delete_draft")
def _(w):
    from shared_apps.catalog import actions

    implementation = w.implement_item(actions.implement_item)()
    return lambda: actions.delete_draft(implementation, actor=w.root, tenant=w.tenant), {
        "action": "catalog.delete_draft",
        "target": implementation.code,
        "tenant_code": w.tenant.code,
    }


# --- departments (in the tenant's schema) ------------------------------------------------------


def _credit_code(tenant, serial):
    from tenants.management.commands.load_demo_data import demo_credit_code

    return demo_credit_code(tenant.code, serial)


@recipe("tenant_apps.departments.actions.create_department")
def _(w):
    from tenant_apps.departments import actions

    def create():
        connection.set_tenant(w.tenant)
        actions.create_department(
            actor=w.root, name="审计局", credit_code=_credit_code(w.tenant, 551)
        )

    return create, {"action": "departments.create", "tenant_code": w.tenant.code}


@recipe("tenant_apps.departments.actions.update_department")
def _(w):
    from tenant_apps.departments import actions

    connection.set_tenant(w.tenant)
    department = actions.create_department(
        actor=w.root, name="审计局", credit_code=_credit_code(w.tenant, 552)
    )

    def update():
        connection.set_tenant(w.tenant)
        actions.update_department(department, actor=w.root, phone="0371-55555555")

    return update, {"action": "departments.update", "tenant_code": w.tenant.code}


# --- cases (in the tenant's schema) ----------------------------------------------------------

# intent: (the state the case stands in, the role acting, the arguments)
CASE_STEPS = {
    "submit": ("draft", "applicant", {}),
    "accept": ("submitted", "window_clerk", {}),
    "reject": ("submitted", "window_clerk", {"reasons": "不属于本机关职权范围"}),
    "request_corrections": ("submitted", "window_clerk", {"items": ["营业执照不清晰"]}),
    "resubmit": ("corrections_requested", "applicant", {}),
    "start_review": ("accepted", "reviewer", {}),
    "decide": (
        "under_review",
        "approver",
        {"decision": "refused", "reasons": "条件不符", "legal_basis": "《行政许可法》第三十八条"},
    ),
    "deliver": ("decided", "window_clerk", {"method": "pickup"}),
    "escalate": ("under_review", "reviewer", {"reason": "涉及跨县经营，报市局决定"}),
    "close": ("delivered", "window_clerk", {}),
    "withdraw": ("submitted", "applicant", {"reason": "不再需要"}),
    "suspend": ("under_review", "reviewer", {"ground": "hearing", "reason": "申请人要求听证"}),
    "resume": ("suspended", "reviewer", {}),
    "extend": ("under_review", "department_head", {"reason": "需现场核查"}),
    "save_draft": ("draft", "applicant", {"form_data": {"shop_name": "老王烩面馆"}}),
}


def _case_step(intent):
    def make(w):
        from shared_apps.accounts.models import Role
        from tenant_apps.cases import actions
        from tenant_apps.cases.tests.conftest import case_in, publish_service

        state, role, arguments = CASE_STEPS[intent]
        service = publish_service(w.root, w.tenant)
        case = case_in(state, service, w.tenant, w.citizen)
        actor = w.citizen if role == "applicant" else w.staff(f"audit-{role}", Role(role))

        def call():
            connection.set_tenant(w.tenant)
            getattr(actions, intent)(case, actor=actor, **arguments)

        return call, {"action": f"cases.{intent}", "tenant_code": w.tenant.code}

    return make


for _intent in CASE_STEPS:
    recipe(f"tenant_apps.cases.actions.{_intent}")(_case_step(_intent))


@recipe("tenant_apps.cases.actions.attach_file")
def _(w):
    import tempfile

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import override_settings

    from tenant_apps.cases import actions
    from tenant_apps.cases.tests.conftest import case_in, publish_service

    service = publish_service(w.root, w.tenant)
    case = case_in("draft", service, w.tenant, w.citizen)
    material_id = service.materials.first().guide_material_id
    pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"

    def call():
        connection.set_tenant(w.tenant)
        folder = tempfile.mkdtemp()
        storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
        with override_settings(
            STORAGES={**settings.STORAGES, "uploads": {**storage, "OPTIONS": {"location": folder}}}
        ):
            actions.attach_file(
                case,
                actor=w.citizen,
                material_id=material_id,
                upload=SimpleUploadedFile("申请书.pdf", pdf),
            )

    return call, {"action": "cases.attach_file", "tenant_code": w.tenant.code}


@recipe("tenant_apps.cases.actions.mark_deadlines")
def _(w):
    from tenant_apps.cases import actions
    from tenant_apps.cases.models import Case
    from tenant_apps.cases.tests.conftest import case_in, publish_service

    service = publish_service(w.root, w.tenant)
    case = case_in("accepted", service, w.tenant, w.citizen)
    Case.objects.filter(pk=case.pk).update(
        due_at=timezone.now() - timedelta(hours=1), yellow_at=timezone.now() - timedelta(days=2)
    )

    def call():
        connection.set_tenant(w.tenant)
        actions.mark_deadlines()

    return call, {"action": "cases.deadlines_marked", "tenant_code": w.tenant.code}


@recipe("tenant_apps.cases.actions.find_citizen_at_window")
def _(w):
    from tenant_apps.cases import actions

    def call():
        connection.set_tenant(w.tenant)
        number = make_id_number(sequence="551")  # the world's citizen
        assert actions.find_citizen_at_window(actor=w.clerk, id_number=number) == w.citizen

    return call, {"action": "cases.window_lookup", "tenant_code": w.tenant.code}


@recipe("tenant_apps.cases.actions.record_document_download")
def _(w):
    from shared_apps.accounts.models import Role
    from tenant_apps.cases import actions
    from tenant_apps.cases.tests.conftest import case_in, publish_service

    service = publish_service(w.root, w.tenant)
    case = case_in("decided", service, w.tenant, w.citizen)
    clerk = w.staff("audit-document-reader", Role.WINDOW_CLERK)

    def call():
        connection.set_tenant(w.tenant)
        actions.record_document_download(case, actor=clerk, kind="decision")

    return call, {"action": "cases.document_downloaded", "tenant_code": w.tenant.code}


@recipe("tenant_apps.cases.actions.record_file_download")
def _(w):
    from shared_apps.accounts.models import Role
    from tenant_apps.cases import actions
    from tenant_apps.cases.models import CaseFile
    from tenant_apps.cases.tests.conftest import case_in, publish_service, uploads

    service = publish_service(w.root, w.tenant)
    case = case_in("submitted", service, w.tenant, w.citizen)
    uploads(service, "申请书", case=case)
    file = CaseFile.objects.get(case=case)
    clerk = w.staff("audit-file-reader", Role.WINDOW_CLERK)

    def call():
        connection.set_tenant(w.tenant)
        actions.record_file_download(case, actor=clerk, file=file)

    return call, {"action": "cases.file_downloaded", "tenant_code": w.tenant.code}


# --- e-licenses (shared_apps.licenses, in `public`) --------------------------------------------


def _licensed_case(w, state="delivered"):
    """A case of a service whose item produces a license type, standing in `state`."""
    from shared_apps.licenses.tests.conftest import make_type
    from tenant_apps.cases.tests.conftest import case_in, publish_service

    service = publish_service(w.root, w.tenant)
    make_type(w.root, service)
    return case_in(state, service, w.tenant, w.citizen)


def _issued_license(w):
    from shared_apps.licenses import actions

    case = _licensed_case(w)
    connection.set_schema_to_public()
    return actions.issue_for_case(case, actor=w.clerk, tenant=w.tenant)


@recipe("shared_apps.licenses.actions.save_license_type")
def _(w):
    from shared_apps.licenses import actions

    def call():
        actions.save_license_type(actor=w.root, code="AUDIT01", name="审计证", issuing_level=4)

    return call, {"action": "licenses.type_saved", "target": "AUDIT01"}


@recipe("shared_apps.licenses.actions.rotate_key")
def _(w):
    from shared_apps.licenses import actions

    def call():
        actions.rotate_key(w.tenant, actor=w.root)

    return call, {"action": "licenses.key_rotated", "tenant_code": w.tenant.code}


@recipe("shared_apps.licenses.actions.issue_for_case")
def _(w):
    from shared_apps.licenses import actions

    case = _licensed_case(w)

    def call():
        actions.issue_for_case(case, actor=w.clerk, tenant=w.tenant)

    return call, {"action": "licenses.issued", "tenant_code": w.tenant.code}


@recipe("shared_apps.licenses.actions.issue")
def _(w):
    from shared_apps.licenses import actions
    from shared_apps.licenses.tests.conftest import make_type
    from tenant_apps.cases.tests.conftest import publish_service

    service = publish_service(w.root, w.tenant)
    license_type = make_type(w.root, service)

    def call():
        actions.issue(
            actor=w.clerk,
            license_type=license_type,
            tenant=w.tenant,
            issuer_name="审计测试局",
            issuer_code=service.department_credit_code,
            holder_kind="person",
            holder_name=w.citizen.real_name,
            holder_id_number=make_id_number(sequence="551"),
            number="AUDIT-0001",
            data={"shop_name": "审计小店"},
            source="api",
        )

    return call, {"action": "licenses.issued", "tenant_code": w.tenant.code}


@recipe("shared_apps.licenses.actions.record_download")
def _(w):
    from shared_apps.licenses import actions

    license = _issued_license(w)

    def call():
        actions.record_download(license, actor=w.citizen)

    return call, {"action": "licenses.downloaded", "tenant_code": w.tenant.code}


@recipe("shared_apps.licenses.actions.share")
def _(w):
    from shared_apps.licenses import actions

    license = _issued_license(w)

    def call():
        actions.share(license, actor=w.citizen, hours=24)

    return call, {"action": "licenses.shared", "tenant_code": w.tenant.code}


@recipe("shared_apps.licenses.actions.open_share")
def _(w):
    from shared_apps.licenses import actions

    license = _issued_license(w)
    _, code = actions.share(license, actor=w.citizen, hours=1)

    def call():
        assert actions.open_share(code, actor="public:share") == license

    return call, {"action": "licenses.share_opened", "tenant_code": w.tenant.code}


@recipe("shared_apps.licenses.actions.record_reuse")
def _(w):
    from shared_apps.licenses import actions

    license = _issued_license(w)

    def call():
        actions.record_reuse(license, actor=w.citizen, tenant=w.tenant, case_number="AUDIT-CASE-1")

    return call, {"action": "licenses.reused", "tenant_code": w.tenant.code}


@recipe("shared_apps.licenses.actions.rekey_after_identity_rotation")
def _(w):
    from shared_apps.licenses import actions

    _issued_license(w)

    def call():
        actions.rekey_after_identity_rotation(actor="system:rotate_license_keys", batch_size=1)

    return call, {"action": "licenses.rekeyed"}


def _license_change(name, action, arguments, before=None):
    def make(w):
        from shared_apps.licenses import actions

        license = _issued_license(w)
        if before:
            getattr(actions, before)(license.identifier, w.tenant, actor=w.root, reason="先暂停")

        def call():
            getattr(actions, name)(license.identifier, w.tenant, actor=w.root, **arguments)

        return call, {"action": action, "tenant_code": w.tenant.code}

    return make


for _name, _action, _arguments, _before in [
    ("suspend", "licenses.suspended", {"reason": "核查"}, None),
    ("resume", "licenses.resumed", {}, "suspend"),
    ("revoke", "licenses.revoked", {"reason": "以欺骗手段取得"}, None),
    ("reissue", "licenses.reissued", {"reason": "名称变更", "data": {"shop_name": "新店名"}}, None),
]:
    recipe(f"shared_apps.licenses.actions.{_name}")(
        _license_change(_name, _action, _arguments, _before)
    )


# --- across levels (shared_apps.handoffs) ---------------------------------------------------


def _handoff_case(w, state, **fields):
    from tenant_apps.cases.models import Case
    from tenant_apps.cases.tests.conftest import case_in, publish_service

    service = publish_service(w.root, w.tenant)
    case = case_in(state, service, w.tenant, w.citizen)
    if fields:
        Case.objects.filter(pk=case.pk).update(**fields)
        case.refresh_from_db()
    return service, case


@recipe("tenant_apps.cases.actions.forward")
def _(w):
    from shared_apps.accounts.models import Role
    from shared_apps.catalog.models import Implementation
    from tenant_apps.cases import actions

    service, case = _handoff_case(w, "accepted")
    connection.set_schema_to_public()
    Implementation.objects.filter(pk=service.pk).update(decided_by=w.tenant.parent)
    reviewer = w.staff("audit-reviewer", Role.REVIEWER)

    def call():
        connection.set_tenant(w.tenant)
        actions.forward(case, actor=reviewer)

    return call, {"action": "cases.forward", "tenant_code": w.tenant.code}


@recipe("tenant_apps.cases.actions.return_case")
def _(w):
    from shared_apps.accounts.models import Role
    from tenant_apps.cases import actions
    from tenants.models import Tenant

    below = Tenant.objects.filter(parent=w.tenant).first()
    _service, case = _handoff_case(
        w, "under_review", received_from_id=below.pk, received_as="escalate"
    )
    reviewer = w.staff("audit-reviewer", Role.REVIEWER)

    def call():
        connection.set_tenant(w.tenant)
        actions.return_case(case, actor=reviewer, reason="属街道事权，退回办理")

    return call, {"action": "cases.return", "tenant_code": w.tenant.code}


def _handoff_row(w, **fields):
    import uuid

    from shared_apps.handoffs.models import Handoff, Kind
    from shared_apps.handoffs.tests.conftest import handed_over
    from tenants.models import Tenant

    connection.set_schema_to_public()
    number = f"AUDIT-HO-{uuid.uuid4().hex[:8]}"
    return Handoff.objects.create(
        from_tenant=Tenant.objects.filter(parent=w.tenant).first(),
        to_tenant=w.tenant,
        case_public_id=uuid.uuid4(),
        case_number=number,
        kind=Kind.JOINT_ACCEPT,
        payload=handed_over(number),
        **fields,
    )


@recipe("tenant_apps.cases.actions.receive_handoff")
def _(w):
    from tenant_apps.cases import actions

    handoff = _handoff_row(w)

    def call():
        connection.set_tenant(w.tenant)
        actions.receive_handoff(handoff)

    return call, {"action": "cases.receive_handoff", "tenant_code": w.tenant.code}


@recipe("tenant_apps.cases.actions.receive_handoffs")
def _(w):
    from tenant_apps.cases import actions

    handoff = _handoff_row(w)

    def call():
        connection.set_tenant(w.tenant)
        actions.receive_handoffs([handoff])

    return call, {"action": "cases.receive_handoff", "tenant_code": w.tenant.code}


@recipe("shared_apps.handoffs.actions.retry")
def _(w):
    from shared_apps.handoffs import actions

    handoff = _handoff_row(w, status="failed", attempts=5, reason="KeyError: 'sent_at'")
    return lambda: actions.retry(handoff, actor=w.root), {"action": "handoffs.retry"}


@recipe("shared_apps.handoffs.actions.set_decided_by")
def _(w):
    from shared_apps.handoffs import actions
    from shared_apps.handoffs.tests.conftest import publish_item
    from tenants.models import Tenant

    below = Tenant.objects.filter(parent=w.tenant).first()
    items = publish_item(w.root, [w.tenant, below])

    def call():
        actions.set_decided_by(items[below.code], decided_by=w.tenant, actor=w.root)

    return call, {"action": "handoffs.set_decided_by", "tenant_code": below.code}


# --- supervision orders (shared_apps.supervision, 督办) ------------------------------------------


def _order(w):
    from datetime import date, timedelta

    from shared_apps.supervision import actions

    return actions.issue_order(
        actor=w.root,
        issuing_unit=w.tenant.parent,
        target_unit=w.tenant,
        reason="红牌办件未处理",
        required_action="三日内办结并说明原因",
        deadline=date.today() + timedelta(days=5),
    )


def _order_step(step, state=None):
    def make(w):
        from shared_apps.accounts.models import Role
        from shared_apps.supervision import actions
        from shared_apps.supervision.models import SupervisionOrder

        order = _order(w)
        if state:
            SupervisionOrder.objects.filter(pk=order.pk).update(state=state)
        supervisor = w.staff("audit-supervisor", Role.SUPERVISOR)
        by = w.root if step in ("close", "reopen") else supervisor
        call = getattr(actions, f"{step}_order")
        return lambda: call(order, actor=by, text="已整改"), {
            "action": f"supervision.order_{step}",
            "tenant_code": w.tenant.code,
        }

    return make


@recipe("shared_apps.supervision.actions.issue_order")
def _(w):
    return lambda: _order(w), {"action": "supervision.order_issued", "tenant_code": w.tenant.code}


recipe("shared_apps.supervision.actions.acknowledge_order")(_order_step("acknowledge"))
recipe("shared_apps.supervision.actions.report_order")(_order_step("report", "acknowledged"))
recipe("shared_apps.supervision.actions.close_order")(_order_step("close", "reported"))
recipe("shared_apps.supervision.actions.reopen_order")(_order_step("reopen", "reported"))


@recipe("shared_apps.supervision.actions.mark_overdue_orders")
def _(w):
    from datetime import date, timedelta

    from shared_apps.supervision import actions
    from shared_apps.supervision.models import SupervisionOrder

    order = _order(w)
    SupervisionOrder.objects.filter(pk=order.pk).update(deadline=date.today() - timedelta(days=1))
    return lambda: actions.mark_overdue_orders(), {"action": "supervision.orders_overdue"}


# --- parallel approval (并联审批) and bundles (一件事一次办) ------------------------------------


@recipe("shared_apps.catalog.actions.set_parallel_review")
def _(w):
    from shared_apps.catalog import actions
    from shared_apps.catalog.tests.conftest import make_department
    from tenant_apps.cases.tests.conftest import publish_service

    service = publish_service(w.root, w.tenant)
    department = make_department(w.tenant, name="生态环境分局")
    connection.set_schema_to_public()

    def call():
        actions.set_parallel_review(
            service,
            actor=w.root,
            tenant=w.tenant,
            rule="stop_at_refusal",
            departments=[
                {
                    "tenant": w.tenant,
                    "department_id": department.pk,
                    "department_name": "生态环境分局",
                    "days": 5,
                }
            ],
        )

    return call, {"action": "catalog.set_parallel_review", "tenant_code": w.tenant.code}


@recipe("shared_apps.catalog.actions.save_bundle")
def _(w):
    from shared_apps.catalog import actions

    first, _version = w.published_item("410100552000")
    second, _version = w.published_item("410100553000")

    def call():
        actions.save_bundle(
            actor=w.root, code="AUDIT-BUNDLE", name="开办餐馆一件事", items=[first, second]
        )

    return call, {"action": "catalog.save_bundle", "target": "AUDIT-BUNDLE"}


@recipe("tenant_apps.cases.actions.apply_bundle")
def _(w):
    from shared_apps.catalog import actions as catalog
    from tenant_apps.cases import actions
    from tenant_apps.cases.tests.conftest import publish_service

    first, second = publish_service(w.root, w.tenant), publish_service(w.root, w.tenant)
    connection.set_schema_to_public()
    bundle = catalog.save_bundle(
        actor=w.root,
        code="AUDIT-APPLY-BUNDLE",
        name="开办餐馆一件事",
        items=[first.item, second.item],
        tenant=w.tenant,
    )

    def call():
        connection.set_tenant(w.tenant)
        actions.apply_bundle(bundle, actor=w.citizen, form_data={"shop_name": "老王烩面馆"})

    return call, {"action": "cases.apply_bundle", "tenant_code": w.tenant.code}


def _parallel_case(w):
    """A case of an item reviewed in parallel by two departments, just accepted: (case, the
    first department's task, a reviewer of that department)."""
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.models import Role
    from shared_apps.catalog import actions as catalog
    from shared_apps.catalog.tests.conftest import make_department
    from tenant_apps.cases import actions
    from tenant_apps.cases.tests.conftest import publish_service, submitted_case

    service = publish_service(w.root, w.tenant)
    department = make_department(w.tenant, name="自然资源和规划局")
    other = make_department(w.tenant, name="生态环境分局")
    connection.set_schema_to_public()
    catalog.set_parallel_review(
        service,
        actor=w.root,
        tenant=w.tenant,
        rule="collect_all",
        departments=[
            {"tenant": w.tenant, "department_id": d.pk, "department_name": d.name, "days": 5}
            for d in (department, other)
        ],
    )
    case = actions.accept(submitted_case(service, w.tenant, w.citizen), actor=w.clerk)
    reviewer = w.users.objects.create_user("audit-planner")
    accounts.grant_role(
        actor=w.root, user=reviewer, tenant=w.tenant, role=Role.REVIEWER, department=department
    )
    connection.set_tenant(w.tenant)
    return case, case.tasks.get(department_id=department.pk), reviewer


@recipe("tenant_apps.cases.actions.complete_task")
def _(w):
    from tenant_apps.cases import actions

    _case, task, reviewer = _parallel_case(w)

    def call():
        connection.set_tenant(w.tenant)
        actions.complete_task(task, actor=reviewer, decision="refused", opinion="位于水源保护区")

    return call, {"action": "cases.complete_task", "tenant_code": w.tenant.code}


# --- payments (shared_apps.payments, in `public`) --------------------------------------------


def _fee_case(w):
    """An accepted case of a service whose guide charges on acceptance (its order made)."""
    from shared_apps.payments.tests.conftest import FORM_DATA, publish_fee_service
    from tenant_apps.cases import actions
    from tenant_apps.cases.tests.conftest import REQUIRED, uploads

    service = publish_fee_service(w.root, w.tenant)
    connection.set_tenant(w.tenant)
    draft = actions.save_draft(actor=w.citizen, implementation=service, form_data=FORM_DATA)
    case = actions.submit(draft, actor=w.citizen, materials=uploads(service, *REQUIRED, case=draft))
    return actions.accept(case, actor=w.clerk)


def _fee_order(w):
    from shared_apps.payments.models import PaymentOrder

    case = _fee_case(w)
    connection.set_schema_to_public()
    return PaymentOrder.objects.get(case_public_id=case.public_id)


@recipe("shared_apps.payments.actions.create_case_order")
def _(w):
    from shared_apps.payments import actions
    from shared_apps.payments.models import PaymentOrder

    case = _fee_case(w)
    # Its order, made on acceptance, cancelled (charged in error): a new one is made.
    PaymentOrder.objects.filter(case_public_id=case.public_id).update(state="cancelled")
    return lambda: actions.create_case_order(
        case, tenant=w.tenant, stage="acceptance", actor=w.clerk
    ), {"action": "payments.create_order", "tenant_code": w.tenant.code}


@recipe("shared_apps.payments.actions.receive_result")
def _(w):
    from shared_apps.payments import actions
    from shared_apps.payments.providers import GatewayProvider
    from shared_apps.payments.tests.conftest import GATEWAY, KEY, MERCHANT, signed_result

    order = _fee_order(w)
    gateway = GatewayProvider(GATEWAY, MERCHANT, KEY)
    return lambda: actions.receive_result(gateway, signed_result(order), via="notify"), {
        "action": "payments.paid",
        "target": order.slip_number,
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.payments.actions.cancel_order")
def _(w):
    from shared_apps.payments import actions

    order = _fee_order(w)
    return lambda: actions.cancel_order(order, actor=w.clerk, tenant=w.tenant, reason="误收"), {
        "action": "payments.cancel_order",
        "target": order.slip_number,
    }


@recipe("shared_apps.payments.actions.mark_overdue")
def _(w):
    from shared_apps.payments import actions

    return lambda: actions.mark_overdue(), {"action": "payments.mark_overdue"}


@recipe("shared_apps.payments.actions.request_refund")
def _(w):
    from shared_apps.payments import actions
    from shared_apps.payments.providers import GatewayProvider
    from shared_apps.payments.tests.conftest import GATEWAY, KEY, MERCHANT, signed_result

    order = _fee_order(w)
    actions.receive_result(
        GatewayProvider(GATEWAY, MERCHANT, KEY), signed_result(order), via="notify"
    )
    return lambda: actions.request_refund(
        order, actor=w.clerk, tenant=w.tenant, amount="10.00", reason="重复缴费"
    ), {"action": "payments.request_refund", "target": order.slip_number}


@recipe("shared_apps.payments.actions.decide_refund")
def _(w):
    from shared_apps.accounts.models import Role
    from shared_apps.payments import actions
    from shared_apps.payments.providers import GatewayProvider
    from shared_apps.payments.tests.conftest import GATEWAY, KEY, MERCHANT, signed_result

    order = _fee_order(w)
    actions.receive_result(
        GatewayProvider(GATEWAY, MERCHANT, KEY), signed_result(order), via="notify"
    )
    refund = actions.request_refund(
        order, actor=w.clerk, tenant=w.tenant, amount="10.00", reason="重复缴费"
    )
    head = w.staff("audit-refund-head", Role.DEPARTMENT_HEAD)
    return lambda: actions.decide_refund(
        refund, actor=head, tenant=w.tenant, approve=False, note="查无重复缴费"
    ), {"action": "payments.refund_refused", "target": order.slip_number}


@recipe("shared_apps.payments.actions.reconcile")
def _(w):
    from shared_apps.payments import actions
    from shared_apps.payments.providers import GatewayProvider
    from shared_apps.payments.tests.conftest import GATEWAY, KEY, MERCHANT

    statement = "trade_no,out_trade_no,type,amount,finished_at\n"
    gateway = GatewayProvider(GATEWAY, MERCHANT, KEY)
    return lambda: actions.reconcile(timezone.localdate(), provider=gateway, statement=statement), {
        "action": "payments.reconcile"
    }


@recipe("shared_apps.payments.actions.register_webhook")
def _(w):
    from shared_apps.payments import actions

    return lambda: actions.register_webhook(
        actor=w.clerk, tenant=w.tenant, url="https://dept.example.cn/paid"
    ), {"action": "payments.register_webhook", "tenant_code": w.tenant.code}


# --- the checks --------------------------------------------------------------------------------

ACTIONS = discovered_actions()


def test_actions_are_found_by_import():
    assert "shared_apps.accounts.actions.record_consent" in ACTIONS
    assert "tenants.actions.suspend_tenant" in ACTIONS
    assert "tenant_apps.departments.actions.create_department" in ACTIONS
    stale = sorted(set(RECIPES) - set(ACTIONS))
    assert stale == [], f"recipes for functions that are no longer actions: {stale}"


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_writes_its_audit_entry(name, django_user_model, tenant):
    assert name in RECIPES, (
        f"{name} has no recipe in tests/test_actions_audited.py: every public function of an "
        "actions module is a write that records its audit entry; give it a recipe, or move a "
        "read or helper to a queries module"
    )
    call, expected = RECIPES[name](World(django_user_model, tenant))
    connection.set_schema_to_public()
    before = AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0
    call()
    connection.set_schema_to_public()
    written = list(AuditEntry.objects.filter(id__gt=before).order_by("id").values(*expected))
    assert written == [expected]


# --- ratings (好差评) ----------------------------------------------------------------------------


@recipe("shared_apps.ratings.actions.rate")
def _(w):
    from shared_apps.ratings import actions
    from tenant_apps.cases.tests.conftest import case_in, publish_service

    case = case_in("delivered", publish_service(w.root, w.tenant), w.tenant, w.citizen)

    def call():
        connection.set_tenant(w.tenant)
        actions.rate(case, actor=w.citizen, level=1, channel="pc")

    return call, {"action": "ratings.rate", "tenant_code": w.tenant.code}


@recipe("shared_apps.ratings.actions.rate_with_token")
def _(w):
    from shared_apps.ratings import actions, tokens
    from tenant_apps.cases.tests.conftest import case_in, publish_service

    case = case_in("delivered", publish_service(w.root, w.tenant), w.tenant, w.citizen)
    tokens.register(w.tenant, case)

    def call():
        connection.set_tenant(w.tenant)
        actions.rate_with_token(tokens.token_for(w.tenant, case), level=2)

    return call, {"action": "ratings.rate", "tenant_code": w.tenant.code}


@recipe("shared_apps.ratings.actions.rate_by_sms")
def _(w):
    from shared_apps.notifications.models import Delivery, Message
    from shared_apps.ratings import actions
    from tenant_apps.cases.tests.conftest import case_in, publish_service

    case = case_in("delivered", publish_service(w.root, w.tenant), w.tenant, w.citizen)
    message = Message.objects.create(
        user=w.citizen,
        kind="case_delivered",
        context={"case": str(case.public_id)},
        tenant=w.tenant,
        sent_by="system:case-notices",
    )
    sent = Delivery.objects.create(
        message=message, channel=Delivery.Channel.SMS, address="13700000551", status="sent"
    )

    def call():
        actions.rate_by_sms(phone="13700000551", reference=str(sent.pk), text="2")

    return call, {"action": "ratings.rate", "tenant_code": w.tenant.code}


def _rectification(w, step="verify"):
    from shared_apps.ratings import actions
    from shared_apps.ratings.models import Rectification
    from tenant_apps.cases.tests.conftest import case_in, publish_service

    case = case_in("delivered", publish_service(w.root, w.tenant), w.tenant, w.citizen)
    connection.set_tenant(w.tenant)
    rating = actions.rate(case, actor=w.citizen, level=5, comment="推诿", channel="pc")
    Rectification.objects.filter(rating=rating).update(step=step)
    return Rectification.objects.get(rating=rating)


def _rectification_step(name, step, role, arguments):
    def make(w):
        from shared_apps.accounts.models import Role
        from shared_apps.ratings import actions

        task = _rectification(w, step)
        actor = w.citizen if role == "citizen" else w.staff(f"audit-rect-{name}", Role(role))
        call = lambda: getattr(actions, name)(task, actor=actor, **arguments)  # noqa: E731
        return call, {"action": f"ratings.{name}", "tenant_code": w.tenant.code}

    return make


for _name, _step, _role, _arguments in (
    ("verify", "verify", "tenant_admin", {"findings": "已联系"}),
    ("report_back", "rectify", "department_head", {"measures": "培训", "report": "已整改"}),
    ("answer_report", "reported", "citizen", {"confirmed": True}),
    ("appeal", "verify", "tenant_admin", {"reason": "恶意差评"}),
):
    recipe(f"shared_apps.ratings.actions.{_name}")(
        _rectification_step(_name, _step, _role, _arguments)
    )


@recipe("shared_apps.ratings.actions.decide_appeal")
def _(w):
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.models import Role
    from shared_apps.ratings import actions
    from shared_apps.ratings.models import Rectification

    task = _rectification(w, "appealed")
    Rectification.objects.filter(pk=task.pk).update(appealed_from="verify")
    above = w.users.objects.create_user("audit-rect-above")
    accounts.grant_role(actor=w.root, user=above, tenant=w.tenant.parent, role=Role.SUPERVISOR)

    def call():
        actions.decide_appeal(task, actor=above, upheld=False, reason="证据不足")

    return call, {"action": "ratings.decide_appeal", "tenant_code": w.tenant.code}


@recipe("shared_apps.ratings.actions.mark_rectification_deadlines")
def _(w):
    from shared_apps.ratings import actions
    from shared_apps.ratings.models import Rectification

    task = _rectification(w)
    Rectification.objects.filter(pk=task.pk).update(due_at=timezone.now() - timedelta(hours=1))

    def call():
        actions.mark_rectification_deadlines()

    return call, {"action": "ratings.deadlines_marked", "tenant_code": ""}


# --- consultations (互动交流) ------------------------------------------------------------------


@recipe("shared_apps.consultations.actions.ask")
def _(w):
    from shared_apps.consultations import actions

    def call():
        connection.set_tenant(w.tenant)
        actions.ask(actor=w.citizen, kind="complaint", subject="态度", question="窗口态度差")

    return call, {"action": "consultations.ask", "tenant_code": w.tenant.code}


@recipe("shared_apps.consultations.actions.answer")
def _(w):
    from shared_apps.consultations import actions

    connection.set_tenant(w.tenant)
    asked = actions.ask(actor=None, kind="consultation", subject="时间", question="几点上班？")
    return lambda: actions.answer(asked, actor=w.clerk, text="九点"), {
        "action": "consultations.answer",
        "tenant_code": w.tenant.code,
    }


@recipe("shared_apps.consultations.actions.escalate_overdue")
def _(w):
    from shared_apps.consultations import actions
    from shared_apps.consultations.models import Consultation

    connection.set_tenant(w.tenant)
    asked = actions.ask(actor=None, kind="consultation", subject="时间", question="几点上班？")
    Consultation.objects.filter(pk=asked.pk).update(due_at=timezone.now() - timedelta(hours=1))
    return lambda: actions.escalate_overdue(), {
        "action": "consultations.escalated",
        "tenant_code": "",
    }
