"""The public index of applicants' cases (ApplicantCase), written by the case actions inside their
transaction: one upsert per changed case; the deadline job updates the flags of the cases it marks
in its own statement (`tenant_apps.cases.actions.mark_deadlines`)."""

from django.db import connection

UPSERT = (
    "INSERT INTO public.ledger_applicantcase AS row (applicant_id, tenant_id,"
    " case_public_id, number, item_name, state, deadline_flag, due_at, updated_at)"
    " VALUES {values} ON CONFLICT (case_public_id) DO UPDATE"
    " SET applicant_id = EXCLUDED.applicant_id, tenant_id = EXCLUDED.tenant_id,"
    " number = EXCLUDED.number, item_name = EXCLUDED.item_name, state = EXCLUDED.state,"
    " deadline_flag = EXCLUDED.deadline_flag, due_at = EXCLUDED.due_at,"
    " updated_at = EXCLUDED.updated_at"
)


def index_case(*, tenant, case) -> None:
    """Make the applicant's index row say what the case says now (one upsert)."""
    index_cases(tenant=tenant, cases=[case])


def index_cases(*, tenant, cases) -> None:
    """index_case for several cases of one unit (distinct cases), in one statement."""
    if not cases:
        return
    params = []
    for case in cases:
        params += [
            case.applicant_id,
            tenant.id,
            case.public_id,
            case.number or "",
            case.item_name,
            case.state,
            case.deadline_flag,
            case.due_at,
            case.updated_at,
        ]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(cases))
    with connection.cursor() as cursor:
        cursor.execute(UPSERT.format(values=values), params)
