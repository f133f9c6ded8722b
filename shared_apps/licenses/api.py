"""The e-license API. On the portal, public: verification by identifier or of the PDF (genuine or
not, status, issuer — nothing about the holder). On each unit's subdomain, for its staff and
department systems (scope `licenses:write`): issue a license, suspend, resume, revoke, reissue —
only the unit's own licenses; another unit's identifier is 404."""

from datetime import date
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import Http404
from ninja import File, Path, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status
from pydantic import Field

from shared_apps.accounts.api_auth import staff_auth
from shared_apps.accounts.identity import normalize_credit_code, normalize_id_number
from shared_apps.accounts.models import Role
from shared_apps.catalog.models import DepartmentRegistration
from shared_apps.licenses import actions, queries
from shared_apps.licenses.models import HolderKind, LicenseType, Source, TrustGrade
from tenant_apps.departments.models import Department

portal_router = Router(tags=["e-licenses"])
router = Router(tags=["e-licenses"])
ISSUERS = (Role.APPROVER, Role.DEPARTMENT_HEAD, Role.TENANT_ADMIN)
MAX_PDF_BYTES = 5 * 1024 * 1024
Identifier = Path(max_length=128, description="the e-license identifier (GB/T 36904)")
# Trust grade by source (DESIGN.md §5: A issued by the body itself … D self-declared).
PdfFile = File(..., description="the license PDF (at most 5 MB)")
GRADE_OF_SOURCE = {"issuer_system": TrustGrade.A, "paper_conversion": TrustGrade.B}


class VerificationOut(Schema):
    identifier: str
    found: bool
    genuine: bool
    reason: str
    status: str
    status_text: str
    name: str
    issuer_name: str
    issuer_code: str
    issued_on: date | None
    valid_until: date | None
    trust_grade: str
    replaced_by: str


@portal_router.get(
    "/licenses/{identifier}/verification",
    response=VerificationOut,
    auth=None,
    url_name="verify_license",
    summary="Check an e-license by its identifier (电子证照核验): genuine, status, issuer",
)
def verify_license(request, identifier: str = Identifier):
    return queries.verify(identifier)


@portal_router.post(
    "/licenses/verification",
    response=VerificationOut,
    auth=None,
    url_name="verify_license_pdf",
    summary="Check an e-license's PDF: its PAdES signature, then the license it names",
)
def verify_license_pdf(request, pdf: UploadedFile = PdfFile):
    if pdf.size > MAX_PDF_BYTES:
        raise ValidationError({"pdf": ["文件过大（不超过 5 MB）。"]})
    return queries.verify_pdf(pdf.read())


class LicenseOut(Schema):
    identifier: str
    name: str
    number: str
    status: str
    issued_on: date
    valid_until: date | None
    trust_grade: str
    key_id: str


def _out(license) -> dict:
    return {
        "identifier": license.identifier,
        "name": license.name,
        "number": license.number,
        "status": license.status,
        "issued_on": license.issued_on,
        "valid_until": license.valid_until,
        "trust_grade": license.trust_grade,
        "key_id": license.key.key_id,
    }


class IssueIn(Schema):
    type_code: str = Field(max_length=32)
    # The issuing department of this unit, by its credit code.
    issuer_code: str = Field(max_length=18)
    number: str = Field(max_length=50, description="the number printed on the license (证照编号)")
    holder_kind: HolderKind
    holder_name: str = Field(max_length=200)
    holder_id_number: str = Field("", max_length=18, description="a person's resident ID number")
    holder_credit_code: str = Field("", max_length=18, description="an organisation's code")
    data: dict = Field(default_factory=dict, description="the data items, as the type's fields")
    source: Literal["issuer_system", "paper_conversion"] = "issuer_system"


@router.post(
    "/licenses",
    response={201: LicenseOut},
    auth=staff_auth("licenses:write", *ISSUERS),
    summary="Issue an e-license from a department system (trust grade by source: A, or B for "
    "a paper license converted by the issuer)",
)
def issue_license(request, payload: IssueIn):
    tenant = request.tenant
    license_type = LicenseType.objects.filter(code=payload.type_code).first()
    if license_type is None:
        raise ValidationError({"type_code": ["证照目录中没有这个证照类型。"]})
    registration = DepartmentRegistration.objects.filter(
        credit_code=payload.issuer_code, tenant=tenant
    ).first()
    if registration is None:
        raise ValidationError({"issuer_code": ["本单位没有这个统一社会信用代码的部门。"]})
    department = Department.objects.get(pk=registration.department_id)
    if payload.holder_kind == HolderKind.PERSON:
        holder = {"holder_id_number": normalize_id_number(payload.holder_id_number)}
    else:
        holder = {"holder_credit_code": normalize_credit_code(payload.holder_credit_code)}
    license = actions.issue(
        actor=request.auth,
        license_type=license_type,
        tenant=tenant,
        issuer_name=f"{tenant.name}{department.name}",
        issuer_code=registration.credit_code,
        holder_kind=payload.holder_kind,
        holder_name=payload.holder_name,
        number=payload.number,
        data=payload.data,
        trust_grade=GRADE_OF_SOURCE[payload.source],
        source=Source.API,
        request=request,
        **holder,
    )
    return Status(201, _out(license))


class ReasonIn(Schema):
    reason: str = Field(max_length=500)


class OptionalReasonIn(Schema):
    reason: str = Field("", max_length=500)


class ReissueIn(Schema):
    reason: str = Field(max_length=500)
    data: dict


def _mine(request, identifier: str):
    """404 unless the license is this unit's (before anything is said about it)."""
    from shared_apps.licenses.models import License

    if not License.objects.filter(identifier=identifier, issuer_tenant=request.tenant).exists():
        raise Http404


@router.post(
    "/licenses/{identifier}/suspend",
    response=LicenseOut,
    auth=staff_auth("licenses:write", *ISSUERS),
    summary="Suspend one of this unit's e-licenses (暂停), with the reason",
)
def suspend_license(request, payload: ReasonIn, identifier: str = Identifier):
    _mine(request, identifier)
    return _out(
        actions.suspend(
            identifier, request.tenant, actor=request.auth, reason=payload.reason, request=request
        )
    )


@router.post(
    "/licenses/{identifier}/resume",
    response=LicenseOut,
    auth=staff_auth("licenses:write", *ISSUERS),
    summary="Lift the suspension of one of this unit's e-licenses",
)
def resume_license(request, payload: OptionalReasonIn, identifier: str = Identifier):
    _mine(request, identifier)
    return _out(
        actions.resume(
            identifier, request.tenant, actor=request.auth, reason=payload.reason, request=request
        )
    )


@router.post(
    "/licenses/{identifier}/revoke",
    response=LicenseOut,
    auth=staff_auth("licenses:write", *ISSUERS),
    summary="Revoke one of this unit's e-licenses (撤销), with the reason; final",
)
def revoke_license(request, payload: ReasonIn, identifier: str = Identifier):
    _mine(request, identifier)
    return _out(
        actions.revoke(
            identifier, request.tenant, actor=request.auth, reason=payload.reason, request=request
        )
    )


@router.post(
    "/licenses/{identifier}/reissue",
    response={201: LicenseOut},
    auth=staff_auth("licenses:write", *ISSUERS),
    summary="Reissue one of this unit's e-licenses after a change (换发): a new version",
)
def reissue_license(request, payload: ReissueIn, identifier: str = Identifier):
    _mine(request, identifier)
    new = actions.reissue(
        identifier,
        request.tenant,
        actor=request.auth,
        data=payload.data,
        reason=payload.reason,
        request=request,
    )
    return Status(201, _out(new))
