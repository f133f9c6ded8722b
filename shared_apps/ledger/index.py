"""The public index of applicants' cases (ApplicantCase), written by the case actions inside their
transaction: one upsert per changed case, and one UPDATE per flag when the deadline job marks
cases."""

from shared_apps.ledger.models import ApplicantCase


def index_case(*, tenant, case) -> None:
    """Make the applicant's index row say what the case says now."""
    ApplicantCase.objects.update_or_create(
        case_public_id=case.public_id,
        defaults={
            "applicant_id": case.applicant_id,
            "tenant": tenant,
            "number": case.number or "",
            "item_name": case.item_name,
            "state": case.state,
            "deadline_flag": case.deadline_flag,
            "due_at": case.due_at,
            "updated_at": case.updated_at,
        },
    )


def index_flags(*, flagged: dict[str, list], at) -> None:
    """The deadline job marked these cases (flag → case public ids)."""
    for flag, public_ids in flagged.items():
        if public_ids:
            ApplicantCase.objects.filter(case_public_id__in=public_ids).update(
                deadline_flag=flag, updated_at=at
            )
