"""Case files beyond the applicant's first upload (issue 10's loose ends): scans registered at the
hall window (一窗受理) and corrections brought to the window, both all or nothing; the applicant's
posts keeping their accepted files when another one is refused; staff downloads audited."""

import re
import uuid

import pytest
from django.db import connection

from conftest import sign_in_with_second_factor
from shared_apps.accounts.identity import id_number_digest, mask_id_number
from shared_apps.audit.models import AuditEntry
from tenant_apps.cases import actions
from tenant_apps.cases.models import Case, CaseEvent, CaseFile, State
from tenant_apps.cases.tests.conftest import GOOD_FORM, submitted_case
from tenant_apps.cases.tests.test_pages import (
    apply_post,
    get,
    in_tenant,
    key,
    material_errors,
    material_ids,
    post,
    stored_files,
)
from tests.helpers import host_of, make_id_number
from tests.test_uploads import EXE, GIF, PDF, upload

# Every test here stores its uploads in its own folder (conftest.upload_folder).
pytestmark = pytest.mark.usefixtures("upload_folder")


@pytest.fixture
def citizen_with_id(people):
    number = make_id_number(sequence="388")
    people.citizen.id_number_digest = id_number_digest(number)
    people.citizen.id_number_masked = mask_id_number(number)
    people.citizen.save()
    return number


def _window(client, tenant, **fields):
    connection.set_schema_to_public()
    return client.post("/workbench/window", fields, HTTP_HOST=host_of(tenant))


def _field_error(body: str, field: str) -> str:
    """The error text the workbench renders under the field `field`."""
    match = re.search(rf'name="{field}"[^>]*>(.*?)</p>', body, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)) if match else ""


def _register(client, tenant, service, id_number, files, **extra):
    ids = material_ids(service)
    return _window(
        client,
        tenant,
        step="register",
        id_number=id_number,
        implementation=service.pk,
        idempotency_key=extra.pop("idempotency_key", key()),
        **{"form-shop_name": "老李面馆", "form-area": "45"},
        **{f"file-{ids[name]}": upload(*file) for name, file in files.items()},
        **extra,
    )


# --- the hall window (一窗受理) ---------------------------------------------------------------


def test_the_window_registers_an_item_whose_materials_are_uploaded(
    client, people, tenant, service, citizen_with_id, upload_folder
):
    sign_in_with_second_factor(client, people.clerk)
    chosen = _window(
        client, tenant, step="choose", id_number=citizen_with_id, implementation=service.pk
    )
    html = chosen.content.decode()
    assert 'enctype="multipart/form-data"' in html
    for material_id in material_ids(service).values():
        assert f'name="file-{material_id}"' in html and 'type="file"' in html
    fields = {"申请书": ("申请书扫描件.pdf", PDF), "营业执照": ("营业执照.pdf", PDF)}
    same_key = key()
    registered = _register(
        client, tenant, service, citizen_with_id, fields, accept_now="on", idempotency_key=same_key
    )
    assert registered.status_code == 302, registered.content.decode()[:2000]
    # A double click: the first registration is shown, nothing stored twice.
    again = _register(
        client, tenant, service, citizen_with_id, fields, accept_now="on", idempotency_key=same_key
    )
    assert again.status_code == 302 and again["Location"] == registered["Location"]
    in_tenant(tenant)
    [case] = Case.objects.filter(applicant_id=people.citizen.pk)
    assert case.state == State.ACCEPTED and case.channel == "window"
    files = {f.material_id: f for f in CaseFile.objects.filter(case=case)}
    assert len(files) == 2 and all(f.uploaded_by_id == people.clerk.pk for f in files.values())
    given = {m["material_id"]: m for m in case.materials}
    for material_id, file in files.items():
        assert given[material_id] == {
            "material_id": material_id,
            "kind": "upload",
            "file_id": str(file.public_id),
            "sha256": file.sha256,
        }
    assert len(stored_files(upload_folder)) == 2
    connection.set_schema_to_public()
    assert (
        AuditEntry.objects.filter(action="cases.attach_file", actor_user_id=people.clerk.pk).count()
        == 2
    )
    # The clerk's case page links each scan.
    page = client.get(registered["Location"], HTTP_HOST=host_of(tenant)).content.decode()
    assert all(f"/files/{f.public_id}" in page for f in files.values())


@pytest.mark.parametrize(
    "files, field, message",
    [
        # One scan refused: nothing registered, the scan accepted before it deleted again.
        (
            {"申请书": ("申请书.pdf", PDF), "营业执照": ("营业执照.pdf", GIF)},
            "营业执照",
            "文件类型不符",
        ),
        ({"申请书": ("申请书.pdf", PDF), "营业执照": ("setup.exe", EXE)}, "营业执照", "可执行"),
        # A required material missing: the submission fails after the scan was stored.
        ({"申请书": ("申请书.pdf", PDF)}, None, "缺少必交材料"),
    ],
)
def test_a_refused_scan_at_the_window_leaves_nothing_behind(
    client, people, tenant, service, citizen_with_id, upload_folder, files, field, message
):
    sign_in_with_second_factor(client, people.clerk)
    refused = _register(client, tenant, service, citizen_with_id, files, accept_now="on")
    assert refused.status_code == 400
    body = refused.content.decode()
    if field:
        assert message in _field_error(body, f"file-{material_ids(service)[field]}")
    else:
        assert message in body
    in_tenant(tenant)
    assert not Case.objects.filter(applicant_id=people.citizen.pk).exists()
    assert not CaseFile.objects.filter(case__applicant_id=people.citizen.pk).exists()
    assert stored_files(upload_folder) == []


def test_a_too_large_scan_at_the_window_is_refused(
    client, people, tenant, service, citizen_with_id, upload_folder, settings
):
    settings.UPLOAD_MAX_BYTES = 4000
    sign_in_with_second_factor(client, people.clerk)
    files = {"申请书": ("申请书.pdf", PDF), "营业执照": ("营业执照.pdf", PDF + b"x" * 5000)}
    refused = _register(client, tenant, service, citizen_with_id, files)
    assert refused.status_code == 400
    field = f"file-{material_ids(service)['营业执照']}"
    assert "文件过大" in _field_error(refused.content.decode(), field)
    in_tenant(tenant)
    assert (
        not Case.objects.filter(applicant_id=people.citizen.pk).exists()
        and stored_files(upload_folder) == []
    )


# --- corrections brought to the window ---------------------------------------------------------


def _corrections_case(service, tenant, people):
    case = submitted_case(service, tenant, people.citizen)
    return actions.request_corrections(case, actor=people.clerk, items=["营业执照复印件不清晰"])


def test_a_window_clerk_resubmits_corrections_for_the_applicant(
    client, people, service, tenant, upload_folder
):
    case = _corrections_case(service, tenant, people)
    ids = material_ids(service)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.approver)
    page = get(client, tenant, f"/workbench/cases/{case.public_id}").content.decode()
    assert 'id="form-resubmit"' not in page  # resubmitting is the filer's or the window's
    sign_in_with_second_factor(client, people.clerk)
    page = get(client, tenant, f"/workbench/cases/{case.public_id}").content.decode()
    form = page[page.index('id="form-resubmit"') :]
    assert (
        'enctype="multipart/form-data"'
        in page[page.rindex("<form", 0, page.index('id="form-resubmit"')) :]
    )
    assert f'name="file-{ids["营业执照"]}"' in form and 'value="老王烩面馆"' in form
    path = f"/workbench/cases/{case.public_id}/resubmit"
    data = {"form-shop_name": "老王烩面馆", "form-area": "60"}
    refused = post(
        client,
        tenant,
        path,
        {
            "idempotency_key": key(),
            **data,
            f"file-{ids['申请书']}": upload("申请书.pdf", PDF),
            f"file-{ids['营业执照']}": upload("营业执照.pdf", GIF),
        },
    )
    assert refused.status_code == 400
    assert "文件类型不符" in _field_error(refused.content.decode(), f"file-{ids['营业执照']}")
    in_tenant(tenant)
    assert Case.objects.get(pk=case.pk).state == State.CORRECTIONS_REQUESTED
    assert CaseFile.objects.filter(case=case).count() == 2  # the two of the submission
    assert stored_files(upload_folder) == []
    connection.set_schema_to_public()
    same_key = key()
    for _ in range(2):  # a double click
        done = post(
            client,
            tenant,
            path,
            {
                "idempotency_key": same_key,
                **data,
                f"file-{ids['营业执照']}": upload("营业执照清晰版.pdf", PDF),
            },
        )
        assert done.status_code == 302 and done["Location"] == f"/workbench/cases/{case.public_id}"
    in_tenant(tenant)
    case.refresh_from_db()
    assert case.state == State.SUBMITTED and case.corrections == []
    new_file = CaseFile.objects.get(case=case, original_name="营业执照清晰版.pdf")
    licence = next(m for m in case.materials if m["material_id"] == ids["营业执照"])
    assert licence["file_id"] == str(new_file.public_id)
    assert any(m["material_id"] == ids["申请书"] for m in case.materials)  # kept as given
    [event] = CaseEvent.objects.filter(case=case, intent="resubmit")
    assert event.channel == "window" and event.actor_user_id == people.clerk.pk
    assert len(stored_files(upload_folder)) == 1


def test_the_window_resubmission_checks_the_answers(client, people, service, tenant):
    case = _corrections_case(service, tenant, people)
    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.clerk)
    refused = post(
        client,
        tenant,
        f"/workbench/cases/{case.public_id}/resubmit",
        {"idempotency_key": key(), "form-shop_name": "名" * 21, "form-area": "0"},
    )
    assert refused.status_code == 400
    in_tenant(tenant)
    case.refresh_from_db()
    assert case.state == State.CORRECTIONS_REQUESTED and case.form_data == GOOD_FORM


# --- the applicant's posts keep their accepted files -------------------------------------------


@pytest.mark.parametrize("action", ["save", "submit"])
def test_a_refused_file_does_not_throw_away_the_others_of_the_post(
    client, people, service, tenant, upload_folder, action
):
    client.force_login(people.citizen)
    ids = material_ids(service)
    refused = apply_post(
        client,
        tenant,
        service,
        action,
        shop_name="老王烩面馆",
        area="60",
        files={"申请书": ("申请书.pdf", PDF), "营业执照": ("执照.pdf", EXE)},
    )
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "可执行" in material_errors(body, ids["营业执照"])
    assert not material_errors(body, ids["申请书"]) and "申请书.pdf" in body
    in_tenant(tenant)
    draft = Case.objects.get(applicant_id=people.citizen.pk)
    assert draft.state == State.DRAFT and draft.form_data == GOOD_FORM
    [kept] = CaseFile.objects.filter(case=draft)
    assert kept.material_id == ids["申请书"]
    assert [m["file_id"] for m in draft.materials] == [str(kept.public_id)]
    assert len(stored_files(upload_folder)) == 1
    assert f'?case={draft.public_id}"' in body
    # Only the refused one is sent again.
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
    assert done.status_code == 302
    in_tenant(tenant)
    draft.refresh_from_db()
    assert draft.state == State.SUBMITTED and len(draft.materials) == 2


def test_a_failed_resubmission_keeps_the_files_it_accepted(
    client, people, service, tenant, upload_folder
):
    case = _corrections_case(service, tenant, people)
    ids = material_ids(service)
    before = set(CaseFile.objects.filter(case=case).values_list("pk", flat=True))
    connection.set_schema_to_public()
    client.force_login(people.citizen)
    path = f"/my/cases/{case.public_id}/resubmit"
    refused = post(
        client,
        tenant,
        path,
        {
            "idempotency_key": key(),
            "form-shop_name": "老王烩面馆",
            "form-area": "60",
            f"material-{ids['申请书']}": upload("申请书签名版.pdf", PDF),
            f"material-{ids['营业执照']}": upload("执照.pdf", GIF),
        },
    )
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "文件类型不符" in material_errors(body, ids["营业执照"])
    in_tenant(tenant)
    case.refresh_from_db()
    assert case.state == State.CORRECTIONS_REQUESTED
    kept = CaseFile.objects.exclude(pk__in=before).get(case=case)
    assert kept.original_name == "申请书签名版.pdf"
    assert str(kept.public_id) not in {m.get("file_id") for m in case.materials}
    assert len(stored_files(upload_folder)) == 1
    # The page offers the kept file again, beside its material, and so does a later visit.
    assert f'name="kept-{ids["申请书"]}" value="{kept.public_id}"' in body
    connection.set_schema_to_public()
    later = get(client, tenant, f"/my/cases/{case.public_id}").content.decode()
    assert f'name="kept-{ids["申请书"]}" value="{kept.public_id}"' in later
    done = post(
        client,
        tenant,
        path,
        {
            "idempotency_key": key(),
            "form-shop_name": "老王烩面馆",
            "form-area": "60",
            f"kept-{ids['申请书']}": str(kept.public_id),
            f"material-{ids['营业执照']}": upload("执照.pdf", PDF),
        },
    )
    assert done.status_code == 302
    in_tenant(tenant)
    case.refresh_from_db()
    assert case.state == State.SUBMITTED
    given = {m["material_id"]: m.get("file_id") for m in case.materials}
    assert given[ids["申请书"]] == str(kept.public_id)
    assert given[ids["营业执照"]] == str(
        CaseFile.objects.get(case=case, original_name="执照.pdf").public_id
    )


def test_a_kept_file_of_another_case_is_not_taken(client, people, service, tenant):
    case = _corrections_case(service, tenant, people)
    other = submitted_case(service, tenant, people.citizen)
    ids = material_ids(service)
    foreign = CaseFile.objects.filter(case=other, material_id=ids["营业执照"]).first()
    connection.set_schema_to_public()
    client.force_login(people.citizen)
    post(
        client,
        tenant,
        f"/my/cases/{case.public_id}/resubmit",
        {
            "idempotency_key": key(),
            "form-shop_name": "老王烩面馆",
            "form-area": "60",
            f"kept-{ids['营业执照']}": str(foreign.public_id),
        },
    )
    in_tenant(tenant)
    case.refresh_from_db()
    assert str(foreign.public_id) not in {m.get("file_id") for m in case.materials}


# --- downloads ---------------------------------------------------------------------------------


def test_staff_downloads_of_case_files_are_audited(client, people, service, tenant):
    in_tenant(tenant)
    draft = actions.save_draft(actor=people.citizen, implementation=service, form_data=GOOD_FORM)
    file = actions.attach_file(
        draft,
        actor=people.citizen,
        material_id=material_ids(service)["申请书"],
        upload=upload("申请书.pdf", PDF),
    )
    path = f"/cases/{draft.public_id}/files/{file.public_id}"
    connection.set_schema_to_public()
    client.force_login(people.citizen)
    assert get(client, tenant, path).status_code == 200
    assert not AuditEntry.objects.filter(action="cases.file_downloaded").exists()
    sign_in_with_second_factor(client, people.reviewer)
    downloaded = get(client, tenant, path)
    assert downloaded.status_code == 200 and b"".join(downloaded.streaming_content) == PDF
    [entry] = AuditEntry.objects.filter(action="cases.file_downloaded")
    assert entry.actor_user_id == people.reviewer.pk
    assert entry.data["file"] == str(file.public_id)
    # No right, no download and no entry.
    client.force_login(people.other_citizen)
    assert get(client, tenant, path).status_code == 404
    assert AuditEntry.objects.filter(action="cases.file_downloaded").count() == 1
    assert uuid.UUID(entry.data["file"]) == file.public_id


def test_an_incomplete_submission_keeps_its_answers_and_files(
    client, people, service, tenant, upload_folder
):
    client.force_login(people.citizen)
    incomplete = apply_post(
        client,
        tenant,
        service,
        "submit",
        shop_name="老王烩面馆",
        files={"申请书": ("申请书.pdf", PDF), "营业执照": ("执照.pdf", PDF)},
    )
    assert incomplete.status_code == 400 and "此项为必填项" in incomplete.content.decode()
    in_tenant(tenant)
    draft = Case.objects.get(applicant_id=people.citizen.pk)
    assert draft.state == State.DRAFT and draft.form_data == {"shop_name": "老王烩面馆"}
    assert len(draft.materials) == 2 and CaseFile.objects.filter(case=draft).count() == 2
    assert len(stored_files(upload_folder)) == 2


def test_only_the_units_window_clerks_resubmit_at_the_window(
    client, people, service, tenant, other_tenant, upload_folder
):
    from shared_apps.accounts.models import Role

    case = _corrections_case(service, tenant, people)
    ids = material_ids(service)
    path = f"/workbench/cases/{case.public_id}/resubmit"

    def attempt():
        return post(
            client,
            tenant,
            path,
            {
                "idempotency_key": key(),
                "form-shop_name": "老王烩面馆",
                "form-area": "60",
                f"file-{ids['营业执照']}": upload("营业执照.pdf", PDF),
            },
        )

    connection.set_schema_to_public()
    sign_in_with_second_factor(client, people.approver)
    assert attempt().status_code == 403
    foreign = people.staff("resubmit-foreign-clerk", Role.WINDOW_CLERK, tenant=other_tenant)
    sign_in_with_second_factor(client, foreign)
    assert attempt().status_code in (403, 404)
    assert (
        client.post(path, {"idempotency_key": key()}, HTTP_HOST=host_of(other_tenant)).status_code
        == 404
    )
    in_tenant(tenant)
    assert Case.objects.get(pk=case.pk).state == State.CORRECTIONS_REQUESTED
    assert CaseFile.objects.filter(case=case).count() == 2
    assert stored_files(upload_folder) == []
