"""The applicant's pages on a unit's subdomain (issue 10, items 1, 2 and 7): applying with the form
built from the item's JSON Schema, uploads checked on their content, draft then submit, a double
submit, corrections and resubmission, withdrawal, who may see a case or its files, and the
portal's list of every unit's cases from the public index."""

import re
import uuid
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from conftest import sign_in_with_second_factor
from shared_apps.accounts.models import Role
from shared_apps.ledger.models import ApplicantCase
from tenant_apps.cases import actions
from tenant_apps.cases.models import Case, CaseFile, State
from tenant_apps.cases.tests.conftest import GOOD_FORM, publish_service, submitted_case
from tests.helpers import host_of
from tests.test_uploads import EXE, GIF, PDF, PNG, upload

# Every test here stores its uploads in its own folder (conftest.upload_folder).
pytestmark = pytest.mark.usefixtures("upload_folder")


def stored_files(folder) -> list:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def material_ids(service) -> dict[str, int]:
    return {
        row.guide_material.name: row.guide_material_id
        for row in service.materials.select_related("guide_material")
    }


def get(client, tenant, path, **extra):
    return client.get(path, HTTP_HOST=host_of(tenant), **extra)


def post(client, tenant, path, data, **extra):
    return client.post(path, data, HTTP_HOST=host_of(tenant), **extra)


def key() -> str:
    return str(uuid.uuid4())


def in_tenant(tenant):
    connection.set_tenant(tenant)
    return tenant


def apply_post(client, tenant, service, action, *, case=None, files=None, **fields):
    data = {"action": action, "idempotency_key": key()}
    data.update({f"form-{name}": value for name, value in fields.items()})
    ids = material_ids(service)
    for name, (file_name, content) in (files or {}).items():
        data[f"material-{ids[name]}"] = upload(file_name, content)
    path = f"/apply/{service.code}" + (f"?case={case}" if case else "")
    return post(client, tenant, path, data)


def field_errors(body: str, name: str) -> str:
    """The error text rendered beside the field `form-<name>`."""
    match = re.search(rf'id="id-form-{name}-errors">(.*?)</span>\s*</p>', body, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)) if match else ""


def material_errors(body: str, material_id: int) -> str:
    match = re.search(rf'id="material-{material_id}-errors">(.*?)</span>\s*</p>', body, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)) if match else ""


# --- the guide's link and the form -----------------------------------------------------------


def test_the_guide_links_to_the_application_form_which_needs_a_sign_in(
    client, people, service, tenant
):
    guide = get(client, tenant, f"/services/{service.code}").content.decode()
    assert f'href="/apply/{service.code}"' in guide
    anonymous = get(client, tenant, f"/apply/{service.code}")
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/accounts/sign-in?next=/apply/{service.code}"
    client.force_login(people.citizen)
    page = get(client, tenant, f"/apply/{service.code}")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count("<h1") == 1
    ids = material_ids(service)
    for name in ("form-shop_name", "form-area", *(f"material-{i}" for i in ids.values())):
        assert f'name="{name}"' in body, name
    assert 'name="action" value="save"' in body and 'name="action" value="submit"' in body
    assert re.search(r'name="idempotency_key" value="[0-9a-f-]{36}"', body)
    # An item this unit does not implement, or another unit's item: not found.
    assert get(client, tenant, "/apply/" + "9" * 31).status_code == 404


def test_the_portal_routes_apply_online_to_the_units_form(client, people, service, tenant):
    from shared_apps.catalog.models import Implementation, OnlineDepth

    portal = django_settings.BASE_DOMAIN
    item = service.item.code
    page = client.get(f"/services/items/{item}", HTTP_HOST=portal).content.decode()
    assert 'name="apply" value="1"' in page
    routed = client.get(
        f"/services/route?item={item}&place={tenant.code}&apply=1", HTTP_HOST=portal
    )
    assert routed.status_code == 302
    assert routed["Location"] == f"http://{host_of(tenant)}/apply/{service.code}"
    guide = client.get(f"/services/route?item={item}&place={tenant.code}", HTTP_HOST=portal)
    assert guide["Location"] == f"http://{host_of(tenant)}/services/{service.code}"
    # An item this unit offers for consultation only: its guide says where to apply in person.
    Implementation.objects.filter(pk=service.pk).update(online_depth=OnlineDepth.CONSULTATION)
    client.force_login(people.citizen)
    hall = get(client, tenant, f"/apply/{service.code}")
    assert hall.status_code == 302 and hall["Location"] == f"/services/{service.code}"
    body = get(client, tenant, f"/services/{service.code}").content.decode()
    assert "apply-link" not in body and "不支持网上申请" in body


def test_another_units_host_does_not_offer_the_item(client, people, service, other_tenant):
    client.force_login(people.citizen)
    assert get(client, other_tenant, f"/apply/{service.code}").status_code == 404


# --- draft, submit, errors --------------------------------------------------------------------


def test_a_draft_then_a_submission(client, people, service, tenant, upload_folder):
    client.force_login(people.citizen)
    saved = apply_post(
        client,
        tenant,
        service,
        "save",
        shop_name="老王烩面馆",
        files={"申请书": ("申请书.pdf", PDF)},
    )
    assert saved.status_code == 302, saved.content.decode()[:3000]
    draft = in_tenant(tenant) and Case.objects.get(applicant_id=people.citizen.pk)
    assert saved["Location"] == f"/apply/{service.code}?case={draft.public_id}&saved=1"
    assert draft.state == State.DRAFT and draft.number is None
    assert draft.form_data == {"shop_name": "老王烩面馆"}
    file = CaseFile.objects.get(case=draft)
    assert draft.materials == [
        {
            "material_id": material_ids(service)["申请书"],
            "kind": "upload",
            "file_id": str(file.public_id),
            "sha256": file.sha256,
        }
    ]
    assert len(stored_files(upload_folder)) == 1
    # The draft page shows what was saved, with the file to download.
    page = get(client, tenant, saved["Location"]).content.decode()
    assert (
        'value="老王烩面馆"' in page and f"/cases/{draft.public_id}/files/{file.public_id}" in page
    )
    submitted = apply_post(
        client,
        tenant,
        service,
        "submit",
        case=draft.public_id,
        shop_name="老王烩面馆",
        area="60",
        files={"营业执照": ("执照.png", PNG)},
    )
    assert submitted.status_code == 302, submitted.content.decode()[:3000]
    assert submitted["Location"] == f"/my/cases/{draft.public_id}"
    in_tenant(tenant)
    case = Case.objects.get(pk=draft.pk)
    assert case.state == State.SUBMITTED and case.number.startswith(service.code)
    assert case.form_data == GOOD_FORM
    assert {m["material_id"] for m in case.materials} == set(
        material_ids(service)[n] for n in ("申请书", "营业执照")
    )
    assert Case.objects.filter(applicant_id=people.citizen.pk).count() == 1
    connection.set_schema_to_public()
    row = ApplicantCase.objects.get(case_public_id=case.public_id)
    assert (row.applicant_id, row.tenant_id, row.number, row.state) == (
        people.citizen.pk,
        tenant.id,
        case.number,
        "submitted",
    )
    page = get(client, tenant, submitted["Location"]).content.decode()
    assert case.number in page and "已提交" in page and 'id="documents"' in page


def test_errors_are_shown_beside_the_fields_in_chinese_and_nothing_is_written(
    client, people, service, tenant, upload_folder
):
    client.force_login(people.citizen)
    refused = apply_post(
        client,
        tenant,
        service,
        "submit",
        shop_name="很长的店名" * 5,
        area="六十",
        files={"申请书": ("申请书.pdf", PDF)},
    )
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "最多 20 个字符" in field_errors(body, "shop_name")
    assert "输入一个数字" in field_errors(body, "area")
    # Typed values are kept; nothing was written, the stored file was removed again.
    assert 'value="很长的店名' in body
    in_tenant(tenant)
    assert (
        not Case.objects.filter(applicant_id=people.citizen.pk).exists()
        and not CaseFile.objects.filter(case__applicant_id=people.citizen.pk).exists()
    )
    assert stored_files(upload_folder) == []
    connection.set_schema_to_public()
    assert not ApplicantCase.objects.filter(applicant_id=people.citizen.pk).exists()
    # A complete form but a missing required material: said in Chinese, with its name.
    missing = apply_post(
        client, tenant, service, "submit", shop_name="老王烩面馆", area="60"
    ).content.decode()
    assert "缺少必交材料" in missing and "申请书" in missing
    # Below the schema's minimum, and a required field left out.
    small = apply_post(client, tenant, service, "submit", area="0").content.decode()
    assert "此项为必填项" in field_errors(small, "shop_name")
    assert field_errors(small, "area").strip() != ""


def test_bad_input_gets_a_clear_chinese_error(client, people, service, tenant):
    client.force_login(people.citizen)
    too_long = apply_post(client, tenant, service, "save", shop_name="烩" * 10_001, area="60")
    assert too_long.status_code == 400
    assert "最多 10000 个字符" in field_errors(too_long.content.decode(), "shop_name")
    wrong_type = apply_post(client, tenant, service, "save", shop_name="老王", area="1e999")
    assert "输入一个数字" in field_errors(wrong_type.content.decode(), "area")
    # A NUL byte anywhere in the post: the whole request is refused, saying why.
    nul = apply_post(client, tenant, service, "save", shop_name="老王\x00烩面馆", area="60")
    assert nul.status_code == 400 and "无效字符" in nul.content.decode()
    in_tenant(tenant)
    assert not Case.objects.filter(applicant_id=people.citizen.pk).exists()


def test_a_forged_or_missing_form_key_is_refused_cleanly(client, people, service, tenant):
    client.force_login(people.citizen)
    data = {"action": "submit", "idempotency_key": "' OR 1=1 --", "form-shop_name": "x"}
    refused = post(client, tenant, f"/apply/{service.code}", data)
    assert refused.status_code == 400 and "表单已过期" in refused.content.decode()
    unknown = post(client, tenant, f"/apply/{service.code}", {"action": "launch"})
    assert unknown.status_code == 400
    bad_case = get(client, tenant, f"/apply/{service.code}?case=not-a-uuid")
    assert bad_case.status_code == 404
    in_tenant(tenant)
    assert not Case.objects.filter(applicant_id=people.citizen.pk).exists()


def test_an_incomplete_submission_keeps_what_was_given_as_the_draft(
    client, people, service, tenant, upload_folder
):
    client.force_login(people.citizen)
    incomplete = apply_post(
        client,
        tenant,
        service,
        "submit",
        shop_name="老王烩面馆",
        area="60",
        files={"申请书": ("申请书.pdf", PDF)},
    )
    assert incomplete.status_code == 400
    body = incomplete.content.decode()
    assert "草稿已保存，但还不能提交" in body and "缺少必交材料：营业执照" in body
    in_tenant(tenant)
    draft = Case.objects.get(applicant_id=people.citizen.pk)
    assert draft.state == State.DRAFT and draft.form_data == GOOD_FORM
    assert CaseFile.objects.filter(case=draft).count() == 1
    assert f'?case={draft.public_id}"' in body and "申请书.pdf" in body
    # Only the missing material is added now.
    done = apply_post(
        client,
        tenant,
        service,
        "submit",
        case=draft.public_id,
        shop_name="老王烩面馆",
        area="60",
        files={"营业执照": ("执照.pdf", PDF)},
    )
    assert done.status_code == 302 and done["Location"] == f"/my/cases/{draft.public_id}"
    in_tenant(tenant)
    assert Case.objects.get(pk=draft.pk).state == State.SUBMITTED
    assert len(stored_files(upload_folder)) == 2


@pytest.mark.parametrize(
    "file_name, content, message",
    [
        ("营业执照.pdf", GIF, "文件类型不符：内容是 GIF 文件，不是 PDF"),
        ("营业执照.pdf", EXE, "Windows 可执行文件"),
        ("setup.exe", EXE, "Windows 可执行文件"),
        ("营业执照.pdf", PDF + b"x" * 5000, "文件过大"),
    ],
)
def test_uploads_are_checked_on_their_content_through_the_page(
    client, people, service, tenant, upload_folder, settings, file_name, content, message
):
    settings.UPLOAD_MAX_BYTES = 4000
    client.force_login(people.citizen)
    refused = apply_post(
        client,
        tenant,
        service,
        "save",
        shop_name="老王烩面馆",
        files={"营业执照": (file_name, content)},
    )
    assert refused.status_code == 400
    assert message in material_errors(refused.content.decode(), material_ids(service)["营业执照"])
    in_tenant(tenant)
    assert (
        not Case.objects.filter(applicant_id=people.citizen.pk).exists()
        and not CaseFile.objects.filter(case__applicant_id=people.citizen.pk).exists()
    )
    assert stored_files(upload_folder) == []


def test_an_earlier_result_is_reused_instead_of_an_upload(client, people, service, tenant):
    from tenant_apps.cases.tests.conftest import case_in

    mine = case_in(State.DELIVERED, service, tenant, people.citizen)
    theirs = case_in(State.DELIVERED, service, tenant, people.other_citizen)
    connection.set_schema_to_public()
    client.force_login(people.citizen)
    licence = material_ids(service)["营业执照"]
    page = get(client, tenant, f"/apply/{service.code}").content.decode()
    assert f'name="reuse-{licence}"' in page and mine.number in page
    assert theirs.number not in page

    def reuse(number):
        return post(
            client,
            tenant,
            f"/apply/{service.code}",
            {
                "action": "save",
                "idempotency_key": key(),
                "form-shop_name": "老王烩面馆",
                f"reuse-{licence}": number,
            },
        )

    refused = reuse(theirs.number)
    assert refused.status_code == 400
    assert "您名下没有该办件编号的办理结果" in material_errors(refused.content.decode(), licence)
    assert reuse(mine.number).status_code == 302
    in_tenant(tenant)
    draft = Case.objects.get(applicant_id=people.citizen.pk, state=State.DRAFT)
    assert draft.materials == [
        {"material_id": licence, "kind": "reused", "result_case_number": mine.number}
    ]


def test_a_double_submit_makes_one_case(client, people, service, tenant):
    client.force_login(people.citizen)
    data = {
        "action": "submit",
        "idempotency_key": key(),
        "form-shop_name": "老王烩面馆",
        "form-area": "60",
    }
    ids = material_ids(service)

    def send():
        body = dict(data)
        body[f"material-{ids['申请书']}"] = upload("申请书.pdf", PDF)
        body[f"material-{ids['营业执照']}"] = upload("执照.pdf", PDF)
        return post(client, tenant, f"/apply/{service.code}", body)

    first, second = send(), send()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    in_tenant(tenant)
    case = Case.objects.get(applicant_id=people.citizen.pk)
    assert case.state == State.SUBMITTED and CaseFile.objects.filter(case=case).count() == 2


# --- my cases, corrections, withdrawal --------------------------------------------------------


def test_corrections_asked_all_at_once_then_resubmitted_with_a_new_upload(
    client, people, service, tenant
):
    case = submitted_case(service, tenant, people.citizen)
    items = ["营业执照复印件不清晰，请重新上传", "申请书缺少签名"]
    actions.request_corrections(case, actor=people.clerk, items=items)
    connection.set_schema_to_public()
    client.force_login(people.citizen)
    page = get(client, tenant, f"/my/cases/{case.public_id}").content.decode()
    corrections = page[page.index('id="corrections"') :]
    assert all(item in corrections for item in items)
    assert "计时暂停" in page and f'action="/my/cases/{case.public_id}/resubmit"' in page
    # A resubmission that is still incomplete is refused, with the field named.
    refused = post(
        client,
        tenant,
        f"/my/cases/{case.public_id}/resubmit",
        {"idempotency_key": key(), "form-shop_name": "老王烩面馆"},
    )
    assert refused.status_code == 400
    assert "此项为必填项" in field_errors(refused.content.decode(), "area")
    ids = material_ids(service)
    done = post(
        client,
        tenant,
        f"/my/cases/{case.public_id}/resubmit",
        {
            "idempotency_key": key(),
            "form-shop_name": "老王烩面馆",
            "form-area": "60",
            f"material-{ids['营业执照']}": upload("执照清晰版.pdf", PDF),
        },
    )
    assert done.status_code == 302 and done["Location"] == f"/my/cases/{case.public_id}"
    in_tenant(tenant)
    case.refresh_from_db()
    assert case.state == State.SUBMITTED and case.corrections == []
    new_file = CaseFile.objects.get(case=case, original_name="执照清晰版.pdf")
    licence = next(m for m in case.materials if m["material_id"] == ids["营业执照"])
    assert licence["file_id"] == str(new_file.public_id)
    connection.set_schema_to_public()
    assert ApplicantCase.objects.get(case_public_id=case.public_id).state == "submitted"


def test_withdrawing_needs_a_confirmation(client, people, service, tenant):
    case = submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()
    client.force_login(people.citizen)
    path = f"/my/cases/{case.public_id}/withdraw"
    unconfirmed = post(client, tenant, path, {"idempotency_key": key(), "reason": "不需要了"})
    assert unconfirmed.status_code == 400 and "确认" in unconfirmed.content.decode()
    long_reason = post(
        client, tenant, path, {"idempotency_key": key(), "confirm": "yes", "reason": "长" * 501}
    )
    assert long_reason.status_code == 400 and "最多 500 个字符" in long_reason.content.decode()
    in_tenant(tenant)
    assert Case.objects.get(pk=case.pk).state == State.SUBMITTED
    connection.set_schema_to_public()
    same_key = key()
    for _ in range(2):
        done = post(
            client,
            tenant,
            path,
            {"idempotency_key": same_key, "confirm": "yes", "reason": "不需要了"},
        )
        assert done.status_code == 302
    in_tenant(tenant)
    case.refresh_from_db()
    assert case.state == State.WITHDRAWN
    assert case.events.filter(intent="withdraw").count() == 1
    connection.set_schema_to_public()
    assert ApplicantCase.objects.get(case_public_id=case.public_id).state == "withdrawn"
    page = get(client, tenant, f"/my/cases/{case.public_id}").content.decode()
    assert "已撤回" in page and 'id="withdraw-form"' not in page


def test_a_citizen_sees_neither_another_citizens_case_nor_its_files(
    client, people, service, tenant, other_tenant
):
    case = submitted_case(service, tenant, people.citizen)
    in_tenant(tenant)
    stored = actions.attach_file(
        Case.objects.create(
            **{
                f.name: getattr(case, f.name)
                for f in Case._meta.fields
                if f.name not in ("id", "public_id", "number", "created_at", "updated_at")
            }
            | {"state": State.DRAFT}
        ),
        actor=people.citizen,
        material_id=material_ids(service)["申请书"],
        upload=upload("申请书.pdf", PDF),
    )
    own = stored.case
    file_path = f"/cases/{own.public_id}/files/{stored.public_id}"
    connection.set_schema_to_public()
    # The applicant downloads their own file, checked and as an attachment.
    client.force_login(people.citizen)
    mine = get(client, tenant, file_path)
    assert mine.status_code == 200 and b"".join(mine.streaming_content) == PDF
    assert mine["Content-Disposition"].startswith("attachment")
    assert get(client, tenant, "/my/cases").content.decode().count("食品经营许可") == 2
    # Another citizen: nothing, whatever id.
    client.force_login(people.other_citizen)
    for path in (
        f"/my/cases/{case.public_id}",
        f"/my/cases/{own.public_id}",
        file_path,
        f"/cases/{case.public_id}/files/{stored.public_id}",
        f"/apply/{service.code}?case={own.public_id}",
    ):
        assert get(client, tenant, path).status_code == 404, path
    assert post(client, tenant, f"/my/cases/{case.public_id}/withdraw", {}).status_code == 404
    assert "食品经营许可" not in get(client, tenant, "/my/cases").content.decode()
    # Signed out: no file either.
    client.logout()
    assert get(client, tenant, file_path).status_code == 404
    # The applicant on another unit's host: not there.
    client.force_login(people.citizen)
    assert get(client, other_tenant, f"/my/cases/{case.public_id}").status_code == 404
    assert get(client, other_tenant, file_path).status_code == 404
    # The unit's staff (second factor) may read it; another unit's clerk may not, on any host.
    sign_in_with_second_factor(client, people.clerk)
    assert get(client, tenant, file_path).status_code == 200
    foreign = people.staff("gulou-clerk", Role.WINDOW_CLERK, tenant=other_tenant)
    sign_in_with_second_factor(client, foreign)
    assert get(client, tenant, file_path).status_code == 404
    assert get(client, other_tenant, file_path).status_code == 404


def test_a_proxy_agent_files_for_a_citizen_under_consent(client, people, service, tenant):
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.middleware import ACTING_FOR_SESSION_KEY

    consent = accounts.record_consent(
        actor=people.clerk,
        citizen=people.citizen,
        agent=people.agent,
        tenant=tenant,
        purpose="代办食品经营许可",
        valid_until=timezone.now() + timedelta(days=7),
        evidence="代办表 2026-0001",
    )
    client.force_login(people.agent)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = consent.pk
    session.save()
    saved = apply_post(client, tenant, service, "save", shop_name="代办的店")
    assert saved.status_code == 302, saved.content.decode()[:2000]
    in_tenant(tenant)
    case = Case.objects.get(applicant_id=people.citizen.pk)
    assert case.proxy_agent_id == people.agent.pk and case.channel == "proxy"


# --- the portal's list and the index ----------------------------------------------------------


def test_the_portal_lists_every_units_cases_of_the_person(
    client, root, people, service, tenant, other_tenant
):
    here = submitted_case(service, tenant, people.citizen)
    connection.set_schema_to_public()
    there_service = publish_service(root, other_tenant)
    there = submitted_case(there_service, other_tenant, people.citizen)
    connection.set_schema_to_public()
    submitted_case(there_service, other_tenant, people.other_citizen)
    connection.set_schema_to_public()
    assert client.get("/my/cases", HTTP_HOST=django_settings.BASE_DOMAIN).status_code == 302
    client.force_login(people.citizen)
    page = client.get("/my/cases", HTTP_HOST=django_settings.BASE_DOMAIN)
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count("<h1") == 1 and "第 1 / 1 页" in body
    for case, unit in ((here, tenant), (there, other_tenant)):
        assert case.number in body
        assert f"//{host_of(unit)}/my/cases/{case.public_id}" in body
    assert body.count("<tr") == 3  # the header and this person's two
    assert 'id="my-cases-link"' in body


def test_the_index_follows_every_change_of_the_cases(client, people, service, tenant):
    first = submitted_case(service, tenant, people.citizen)
    second = submitted_case(service, tenant, people.citizen)
    actions.accept(first, actor=people.clerk)
    actions.request_corrections(second, actor=people.clerk, items=["补充平面图"])
    # Overdue: the deadline job marks it red, and the index says so.
    actions.mark_deadlines(at=timezone.now() + timedelta(days=60))
    cases = {
        c.public_id: (c.number, c.state, c.deadline_flag, c.due_at, c.applicant_id)
        for c in Case.objects.filter(applicant_id=people.citizen.pk)
    }
    connection.set_schema_to_public()
    rows = {
        r.case_public_id: (r.number, r.state, r.deadline_flag, r.due_at, r.applicant_id)
        for r in ApplicantCase.objects.filter(tenant=tenant, applicant_id=people.citizen.pk)
    }
    assert rows == cases
    assert rows[first.public_id][2] == "red"
    portal = client
    portal.force_login(people.citizen)
    body = portal.get("/my/cases", HTTP_HOST=django_settings.BASE_DOMAIN).content.decode()
    assert "已超期" in body and "计时暂停" in body


# --- the API upload ---------------------------------------------------------------------------


def test_the_api_takes_a_materials_file_and_the_case_names_it(
    client, people, service, tenant, upload_folder
):
    client.force_login(people.citizen)
    started = client.post(
        "/api/v1/my/cases",
        data={"implementation_code": service.code, "form_data": GOOD_FORM},
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    case_id = started.json()["id"]
    ids = material_ids(service)
    path = f"/api/v1/my/cases/{case_id}/files"
    entries = []
    for name in ("申请书", "营业执照"):
        reply = post(
            client, tenant, path, {"material_id": ids[name], "file": upload(f"{name}.pdf", PDF)}
        )
        assert reply.status_code == 201, reply.content
        entry = reply.json()
        assert entry["kind"] == "upload" and entry["material_id"] == ids[name]
        entries.append({k: entry[k] for k in ("material_id", "kind", "file_id", "sha256")})
    exe = post(client, tenant, path, {"material_id": ids["申请书"], "file": upload("a.pdf", EXE)})
    assert exe.status_code == 422 and "Windows 可执行文件" in exe.content.decode()
    beyond = post(client, tenant, path, {"material_id": 2**40, "file": upload("a.pdf", PDF)})
    assert beyond.status_code == 422
    nothing = post(client, tenant, path, {"material_id": ids["申请书"]})
    assert nothing.status_code == 422 and "没有收到文件" in nothing.content.decode()
    # Another case's file, or the right file for the wrong material, is refused.
    other = submitted_case(service, tenant, people.citizen)
    other_file = CaseFile.objects.filter(case=other).first()
    connection.set_schema_to_public()
    wrong = [
        entries[0],
        {**entries[1], "file_id": str(other_file.public_id), "sha256": other_file.sha256},
    ]
    submit = f"/api/v1/my/cases/{case_id}/submit"
    refused = client.post(
        submit,
        data={"materials": wrong},
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert refused.status_code == 422, refused.content
    swapped = [
        {**entries[0], "material_id": entries[1]["material_id"]},
        {**entries[1], "material_id": entries[0]["material_id"]},
    ]
    refused = client.post(
        submit,
        data={"materials": swapped},
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert refused.status_code == 422
    done = client.post(
        submit,
        data={"materials": entries},
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
    )
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "submitted"
    # Nobody else can upload to this case.
    client.force_login(people.other_citizen)
    stranger = post(
        client, tenant, path, {"material_id": ids["申请书"], "file": upload("a.pdf", PDF)}
    )
    assert stranger.status_code == 404
    # A submitted case takes no more files.
    client.force_login(people.citizen)
    late = post(client, tenant, path, {"material_id": ids["申请书"], "file": upload("a.pdf", PDF)})
    assert late.status_code == 409
    assert len(stored_files(upload_folder)) == 2 + 0  # the refused ones were not kept
