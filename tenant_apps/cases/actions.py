"""Every write to a case (办件): one function per intent, each one transaction that locks the case,
checks the move against the transition table (transitions.py) and the actor's role in the case's
unit, moves the legal clock (clock.py), and writes a CaseEvent, an audit entry and an outbox row
for the provincial supervision ledger. Two people acting on one case at once: the second waits for
the first's lock, then finds the case moved on and gets CaseConflict (409) with a clear message.
"""

import logging
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from govplatform.uploads import UploadRefused, delete_upload, store_upload
from shared_apps.accounts import authz
from shared_apps.accounts.identity import id_number_digests, mask_id_number, normalize_id_number
from shared_apps.accounts.models import Organisation, Role, User
from shared_apps.accounts.queries import valid_consent
from shared_apps.audit.actions import Actor, record_audit, record_audit_many
from shared_apps.catalog.models import Implementation, ParallelReview, ParallelRule
from shared_apps.handoffs.models import Kind
from shared_apps.ledger.index import index_case, index_cases
from shared_apps.ledger.models import CaseEventOutbox, DeadlineWatch
from shared_apps.ledger.outbox import (
    next_sequence,
    outbox_row,
    record_case_event,
    watch_deadline,
)
from shared_apps.licenses import queries as license_queries
from shared_apps.licenses.actions import issue_for_case, record_reuse
from shared_apps.licenses.models import License
from shared_apps.payments import actions as payments
from shared_apps.payments.queries import waiting_order
from shared_apps.ratings import tokens as rating_tokens
from tenant_apps.cases import clock, queries, transitions
from tenant_apps.cases.models import (
    Case,
    CaseEvent,
    CaseFile,
    Channel,
    ClockState,
    DeadlineFlag,
    Decision,
    Delivery,
    ParallelTask,
    State,
    TaskState,
)
from tenant_apps.cases.transitions import Clock, Guard
from tenant_apps.cases.validation import check_form, check_materials, clean_text
from tenant_apps.departments.queries import current_tenant

SUSPENSION_GROUNDS = {
    # Administrative Licensing Law §45: time these take is not counted.
    "hearing": "听证",
    "tendering": "招标、拍卖",
    "testing": "检验、检测、检疫",
    "appraisal": "鉴定",
    "expert_review": "专家评审",
}
logger = logging.getLogger(__name__)
EXTENSION_DAYS = 10  # §42: "may be extended by ten days" with the head's approval
MAX_EXTENSION_DAYS = 30  # other laws give more; more than 10 needs the legal basis named
# The steps a case takes only once the fees of a stage are paid, where the guide says it waits.
WAITS_FOR_PAYMENT = {"start_review": "acceptance", "decide": "acceptance", "deliver": "delivery"}


# --- the one path every intent takes ----------------------------------------------------------


def _roles_of(who: Actor, case: Case, tenant) -> set[str]:
    """What the actor is to this case in this unit: the applicant, the proxy agent filing under a
    consent valid now, and their staff roles in the unit (a system client bound to the unit acts
    with the staff roles its token's scope allowed the API to let through)."""
    if who.user is None and who.client is None and who.label in transitions.SYSTEM_ACTORS:
        return {transitions.SYSTEM}
    if who.user is None:
        client = who.client
        if client is not None and client.tenant_id == tenant.id:
            return set(transitions.STAFF_ROLES)
        return set()
    held = authz.roles_in(who.user, tenant)
    roles = held & transitions.STAFF_ROLES
    if who.user.pk == case.applicant_id:
        roles.add(transitions.APPLICANT)
    # An agent acts on the case they filed, while the citizen's consent still holds.
    if who.user.pk == case.proxy_agent_id and Role.PROXY_AGENT in held:
        citizen = User.objects.filter(pk=case.applicant_id).first()
        try:
            valid_consent(agent=who.user, citizen=citizen, tenant=tenant)
            roles.add(transitions.PROXY_AGENT)
        except PermissionDenied:
            pass
    return roles


def _channel(role: str, who: Actor) -> str:
    if who.user is None:
        return Channel.SYSTEM
    return {transitions.APPLICANT: Channel.ONLINE, transitions.PROXY_AGENT: Channel.PROXY}.get(
        role, Channel.WINDOW
    )


def _on_behalf_of(case: Case, role: str) -> str:
    if role != transitions.PROXY_AGENT:
        return ""
    citizen = User.objects.filter(pk=case.applicant_id).first()
    return citizen.audit_label if citizen else ""


def _transition(
    case: Case,
    intent: str,
    *,
    actor,
    request=None,
    reason: str = "",
    details: dict | None = None,
    change=None,
    handoff_id: int | None = None,
) -> Case:
    """Lock the case, check the move and the role, apply `change(case, now)` and the clock, and
    record the step (event, audit entry, outbox row), all in one transaction."""
    tenant = current_tenant()
    who = Actor.of(actor)
    with transaction.atomic():
        locked = Case.objects.select_for_update().filter(pk=case.pk).first()
        if locked is None:
            raise transitions.CaseConflict(_("This case no longer exists."))
        move = transitions.require(locked, intent)
        held = _roles_of(who, locked, tenant)
        role = next((r for r in sorted(move.roles) if r in held), None)
        if role is None:
            raise PermissionDenied(
                _("You may not %(intent)s this case.")
                % {"intent": transitions.intent_label(intent)}
            )
        stage = WAITS_FOR_PAYMENT.get(intent)
        waiting = waiting_order(locked.public_id, stage) if stage else None
        if waiting is not None:
            raise transitions.CaseConflict(
                _("This case waits for its fee to be paid (payment slip number %(slip)s).")
                % {"slip": waiting.slip_number}
            )
        if move.guard == Guard.SAME_DAY and locked.promised_days != 0:
            raise transitions.CaseConflict(
                _("Only same-day items are decided straight after acceptance; start the review.")
            )
        now = timezone.now()
        from_state = locked.state
        if change is not None:
            change(locked, now)
        to_state = move.target(locked)
        try:
            {
                Clock.START: clock.start,
                Clock.PAUSE: clock.pause,
                Clock.RESUME: clock.resume,
                Clock.STOP: clock.stop,
            }.get(move.clock, lambda case, at: None)(locked, now)
            if move.clock == Clock.EXTEND:
                clock.extend(locked, locked.extension_days, now)
        except clock.CalendarNotCovered as error:
            raise transitions.CaseConflict(str(error)) from None
        if move.to == transitions.RETURN:
            locked.return_state = ""
        locked.state = to_state
        locked.save()
        index_case(tenant=tenant, case=locked)
        queries.forget_queue_counts()
        if move.clock in (Clock.START, Clock.RESUME, Clock.EXTEND):
            mark_at = clock.next_mark_at(locked, now)
            if mark_at is not None:
                watch_deadline(tenant, mark_at)
        channel = _channel(role, who)
        CaseEvent.objects.create(
            case=locked,
            at=now,
            intent=intent,
            from_state=from_state,
            to_state=to_state,
            actor=who.name[:150],
            actor_user_id=who.user.pk if who.user else None,
            on_behalf_of_id=locked.applicant_id if role == transitions.PROXY_AGENT else None,
            role=role,
            channel=channel,
            reason=reason,
            details=details or {},
            handoff_id=handoff_id,
        )
        record_audit(
            actor=who,
            action=f"cases.{intent}",
            target=locked.number or str(locked.public_id),
            tenant=tenant,
            on_behalf_of=_on_behalf_of(locked, role),
            data={"from": from_state, "to": to_state, "role": role, "reason": reason[:500]},
            request=request,
        )
        if locked.number:  # drafts are the applicant's own until submitted
            record_case_event(
                tenant=tenant,
                case=locked,
                event=intent,
                from_state=from_state,
                to_state=to_state,
                clock=clock.snapshot(locked),
                notify_applicant=move.tells_applicant,
                at=now,
                reason=reason,
                details=details,
            )
    return locked


# --- filing -----------------------------------------------------------------------------------


def _filing_roles(who: Actor, tenant, on_behalf_of: User | None) -> tuple[User, str, int | None]:
    """(applicant, channel, consent id) of a new application by this actor."""
    user = who.user
    if user is None:
        raise PermissionDenied(_("Only a person can file an application."))
    if on_behalf_of is None or on_behalf_of.pk == user.pk:
        return user, Channel.ONLINE, None
    roles = authz.roles_in(user, tenant)
    if Role.PROXY_AGENT in roles:
        try:
            consent = valid_consent(agent=user, citizen=on_behalf_of, tenant=tenant)
        except PermissionDenied:
            consent = None
        if consent is not None:
            return on_behalf_of, Channel.PROXY, consent.pk
    if Role.WINDOW_CLERK in roles:
        return on_behalf_of, Channel.WINDOW, None
    raise PermissionDenied(
        _("%(citizen)s has not consented to you filing for them.")
        % {"citizen": on_behalf_of.display_name}
    )


def _check_organisation(applicant: User, organisation: Organisation | None) -> None:
    if organisation is None:
        return
    if (
        organisation.legal_representative_id != applicant.pk
        and not organisation.members.filter(pk=applicant.pk).exists()
    ):
        raise PermissionDenied(
            _("%(person)s may not apply for %(organisation)s.")
            % {"person": applicant.display_name, "organisation": organisation.name}
        )


def _check_reused(materials: list[dict], applicant_id: int) -> None:
    """A reused result must be an approved, delivered result of the same applicant here."""
    for index, material in enumerate(materials):
        number = material.get("result_case_number")
        if (
            number
            and not Case.objects.filter(
                number=number,
                applicant_id=applicant_id,
                decision=Decision.APPROVED,
                state__in=[State.DELIVERED, State.CLOSED],
            ).exists()
        ):
            raise ValidationError(
                {f"materials.{index}": [_("No result of yours has this case number.")]}
            )


def _check_licenses(case: Case, implementation, materials: list[dict]) -> None:
    """An e-license given instead of a material (免提交) is the applicant's own, valid and
    genuine, and stands in for that material; never another person's."""
    names = dict(implementation.materials.values_list("guide_material_id", "guide_material__name"))
    holder = None
    for index, material in enumerate(materials):
        if material.get("kind") != "license":
            continue
        holder = holder or User.objects.get(pk=case.applicant_id)
        try:
            license_queries.reusable_license(
                material["license_identifier"],
                holder=holder,
                material_name=names[material["material_id"]],
            )
        except ValidationError as error:
            raise ValidationError({f"materials.{index}": error.messages}) from None


def _record_license_uses(case: Case, actor, request=None) -> None:
    """The use log of each e-license the submitted case was given (用证记录)."""
    tenant = current_tenant()
    for material in case.materials:
        if material.get("kind") == "license":
            license = License.objects.defer("pdf").get(identifier=material["license_identifier"])
            record_reuse(
                license, actor=actor, tenant=tenant, case_number=case.number, request=request
            )


def _check_files(case: Case, materials: list[dict]) -> None:
    """An uploaded material names a file uploaded for this very case and material (CaseFile),
    with its checksum: never another case's file, nor a name in storage."""
    for index, material in enumerate(materials):
        if material.get("kind") != "upload":
            continue
        try:
            file_id = uuid.UUID(material["file_id"])
        except ValueError:
            file_id = None
        found = (
            case.pk is not None
            and file_id is not None
            and CaseFile.objects.filter(
                case=case,
                public_id=file_id,
                material_id=material["material_id"],
                sha256=material["sha256"],
            ).exists()
        )
        if not found:
            raise ValidationError(
                {
                    f"materials.{index}": [
                        _("No file with this id and checksum was uploaded for this material.")
                    ]
                }
            )


def _fill(case: Case, implementation, form_data, materials, *, complete: bool) -> None:
    if form_data is not None:
        check_form(implementation.form_schema, form_data, complete=complete)
        case.form_data = form_data
    elif complete:
        check_form(implementation.form_schema, case.form_data, complete=True)
    if materials is not None:
        case.materials = check_materials(implementation, materials, complete=complete)
        _check_reused(case.materials, case.applicant_id)
        _check_licenses(case, implementation, case.materials)
        _check_files(case, case.materials)
    elif complete:
        check_materials(implementation, case.materials, complete=True)
        _check_licenses(case, implementation, case.materials)  # still valid now


def _implementation(case: Case) -> Implementation:
    return Implementation.objects.get(pk=case.implementation_id)


def save_draft(
    case: Case | None = None,
    *,
    actor,
    implementation: Implementation | None = None,
    form_data: dict | None = None,
    materials: list | None = None,
    on_behalf_of: User | None = None,
    organisation: Organisation | None = None,
    request=None,
) -> Case:
    """Start an application for one of this unit's published items, or change a draft. The
    applicant is the actor, or the citizen a proxy agent files for under a valid consent, or the
    citizen a window clerk registers it for (一窗受理). Form data may still be incomplete; what is
    there must fit the form, and only the guide's materials are accepted."""
    if case is not None:

        def change(draft, now):
            _fill(draft, _implementation(draft), form_data, materials, complete=False)

        return _transition(case, "save_draft", actor=actor, request=request, change=change)
    tenant = current_tenant()
    who = Actor.of(actor)
    if implementation is None or implementation.tenant_id != tenant.id:
        raise ValidationError({"implementation": [_("This unit does not implement this item.")]})
    if implementation.status != Implementation.Status.PUBLISHED:
        raise ValidationError({"implementation": [_("This item is not open for applications.")]})
    applicant, channel, consent_id = _filing_roles(who, tenant, on_behalf_of)
    _check_organisation(applicant, organisation)
    draft = Case(
        implementation_id=implementation.pk,
        implementation_code=implementation.code,
        item_name=implementation.item.name,
        guide_version_id=implementation.version_id,
        department_id=implementation.department_id,
        department_name=implementation.department_name,
        statutory_days=implementation.version.statutory_days,
        promised_days=implementation.promised_days,
        applicant_id=applicant.pk,
        organisation_id=organisation.pk if organisation else None,
        proxy_agent_id=who.user.pk if channel == Channel.PROXY else None,
        proxy_consent_id=consent_id,
        filed_by_id=who.user.pk,
        channel=channel,
    )
    _fill(draft, implementation, form_data or {}, materials or [], complete=False)
    role = {
        Channel.ONLINE: transitions.APPLICANT,
        Channel.PROXY: transitions.PROXY_AGENT,
        Channel.WINDOW: transitions.WINDOW_CLERK,
    }[channel]
    with transaction.atomic():
        draft.save()
        index_case(tenant=tenant, case=draft)
        CaseEvent.objects.create(
            case=draft,
            at=draft.created_at,
            intent="save_draft",
            from_state="",
            to_state=State.DRAFT,
            actor=who.name[:150],
            actor_user_id=who.user.pk,
            on_behalf_of_id=applicant.pk if channel != Channel.ONLINE else None,
            role=role,
            channel=channel,
        )
        record_audit(
            actor=who,
            action="cases.save_draft",
            target=str(draft.public_id),
            tenant=tenant,
            on_behalf_of=applicant.audit_label if channel != Channel.ONLINE else "",
            data={"implementation": implementation.code, "channel": channel},
            request=request,
        )
    return draft


def apply_bundle(
    bundle, *, actor, form_data: dict, materials: list | None = None, request=None
) -> list[Case]:
    """一件事一次办: apply for every item of a bundle at once, with one form (the union of the items'
    forms) and each material once (entries name the material instead of its id, as in
    catalog.queries.combined_materials). One draft per item, all under one bundle number, in one
    transaction: each item keeps its own case and, once accepted, its own clock. Files are then
    attached to the drafts that ask for them, and the drafts submitted together."""
    from shared_apps.catalog.queries import bundle_offer, combined_form_schema, combined_materials

    tenant = current_tenant()
    who = Actor.of(actor)
    implementations = bundle_offer(bundle, tenant)
    if implementations is None:
        raise ValidationError({"bundle": [_("This unit does not offer this bundle.")]})
    if who.user is None:
        raise PermissionDenied(_("Only a person can file an application."))
    check_form(combined_form_schema(implementations), form_data, complete=False)
    by_name = {m["name"]: m["material_ids"] for m in combined_materials(implementations)}
    materials = materials or []
    if not isinstance(materials, list) or len(materials) > len(by_name):
        raise ValidationError({"materials": [_("The materials must be a list.")]})
    for index, entry in enumerate(materials):
        if not isinstance(entry, dict) or entry.get("name") not in by_name:
            raise ValidationError(
                {
                    f"materials.{index}": [
                        _("The guide of this item does not ask for this material.")
                    ]
                }
            )
    with transaction.atomic():
        day = clock.local_day(timezone.now())
        sequence = next_sequence(f"YJS{bundle.pk}", day)
        number = f"YJS{bundle.pk:06d}{day:%Y%m%d}{sequence:04d}"
        drafts = []
        for implementation in implementations:
            own = set((implementation.form_schema or {}).get("properties") or {})
            given = [
                {**{k: v for k, v in entry.items() if k != "name"}, "material_id": ids[pk]}
                for entry in materials
                if (pk := implementation.pk) in (ids := by_name[entry["name"]])
            ]
            draft = Case(
                implementation_id=implementation.pk,
                implementation_code=implementation.code,
                item_name=implementation.item.name,
                guide_version_id=implementation.version_id,
                department_id=implementation.department_id,
                department_name=implementation.department_name,
                statutory_days=implementation.version.statutory_days,
                promised_days=implementation.promised_days,
                applicant_id=who.user.pk,
                filed_by_id=who.user.pk,
                channel=Channel.ONLINE,
                bundle_number=number,
            )
            _fill(
                draft,
                implementation,
                {k: v for k, v in form_data.items() if k in own},
                given,
                complete=False,
            )
            draft.save()
            index_case(tenant=tenant, case=draft)
            CaseEvent.objects.create(
                case=draft,
                at=draft.created_at,
                intent="save_draft",
                from_state="",
                to_state=State.DRAFT,
                actor=who.name[:150],
                actor_user_id=who.user.pk,
                role=transitions.APPLICANT,
                channel=Channel.ONLINE,
                details={"bundle": bundle.code, "bundle_number": number},
            )
            drafts.append(draft)
        record_audit(
            actor=who,
            action="cases.apply_bundle",
            target=number,
            tenant=tenant,
            data={"bundle": bundle.code, "cases": [str(d.public_id) for d in drafts]},
            request=request,
        )
    return drafts


MAX_FILES_PER_CASE = 200
# The intents after which the materials a file is attached for are given.
FILING_INTENTS = ("save_draft", "submit", "resubmit")


def attach_file(case: Case, *, actor, material_id: int, upload, request=None) -> CaseFile:
    """Store an uploaded file (checked on its content by govplatform.uploads) as one guide material
    of a draft, or of a case whose corrections were asked for; the materials list then names it
    by its id. Whoever may file the case's materials may attach: the applicant, their proxy agent
    under a valid consent, a window clerk of the unit. A refused file is a ValidationError on
    `file`, in Chinese; nothing is kept of it."""
    tenant = current_tenant()
    who = Actor.of(actor)
    implementation = _implementation(case)
    if (
        not isinstance(material_id, int)
        or not implementation.materials.filter(guide_material_id=material_id).exists()
    ):
        raise ValidationError(
            {"material_id": [_("The guide of this item does not ask for this material.")]}
        )
    try:
        stored = store_upload(upload)
    except UploadRefused as refused:
        raise ValidationError({"file": [str(refused)]}) from None
    try:
        with transaction.atomic():
            locked = Case.objects.select_for_update().filter(pk=case.pk).first()
            if locked is None:
                raise transitions.CaseConflict(_("This case no longer exists."))
            held = _roles_of(who, locked, tenant)
            if not set(transitions.intents_for(locked.state, held)) & set(FILING_INTENTS):
                if held:
                    raise transitions.CaseConflict(
                        _("Files can be added only to a draft or while corrections are asked.")
                    )
                raise PermissionDenied(_("You may not add files to this case."))
            if locked.files.count() >= MAX_FILES_PER_CASE:
                raise ValidationError(
                    {"file": [_("This case has too many files; remove some first.")]}
                )
            role = next(
                (r for r in (transitions.APPLICANT, transitions.PROXY_AGENT) if r in held),
                transitions.WINDOW_CLERK,
            )
            file = CaseFile.objects.create(
                case=locked,
                material_id=material_id,
                uploaded_by_id=who.user.pk if who.user else 0,
                **CaseFile.values_of(stored),
            )
            record_audit(
                actor=who,
                action="cases.attach_file",
                target=locked.number or str(locked.public_id),
                tenant=tenant,
                on_behalf_of=_on_behalf_of(locked, role),
                data={
                    "file": str(file.public_id),
                    "material_id": material_id,
                    "sha256": stored.sha256,
                    "size": stored.size,
                    "type": stored.content_type,
                },
                request=request,
            )
    except BaseException:
        delete_upload(stored)
        raise
    return file


def submit(
    case: Case, *, actor, form_data: dict | None = None, materials: list | None = None, request=None
) -> Case:
    """Submit a draft: the form must be complete and every required material given. The case
    gets its number (implementation code + date + sequence)."""

    def change(draft, now):
        implementation = _implementation(draft)
        if implementation.status != Implementation.Status.PUBLISHED:
            raise ValidationError(
                {"implementation": [_("This item is not open for applications.")]}
            )
        _fill(draft, implementation, form_data, materials, complete=True)
        day = clock.local_day(now)
        sequence = next_sequence(draft.implementation_code, day)
        draft.number = f"{draft.implementation_code}{day:%Y%m%d}{sequence:04d}"
        draft.submitted_at = now

    with transaction.atomic():
        submitted = _transition(case, "submit", actor=actor, request=request, change=change)
        _record_license_uses(submitted, actor, request)
    return submitted


def find_citizen_at_window(*, actor, id_number: str, request=None) -> User:
    """一窗受理: a window clerk of this unit looks a citizen up by their ID number, to register
    an application brought in person for them. Every look-up is audited (who looked up which
    masked number, and whether an account has it): it shows the citizen's name. ValidationError
    if the number is not valid or no account has it."""
    tenant = current_tenant()
    who = Actor.of(actor)
    if who.user is None or Role.WINDOW_CLERK not in authz.roles_in(who.user, tenant):
        raise PermissionDenied(_("Only a window clerk of this unit registers at the window."))
    number = normalize_id_number(id_number)
    citizen = User.objects.filter(id_number_digest__in=id_number_digests(number)).first()
    record_audit(
        actor=who,
        action="cases.window_lookup",
        target=mask_id_number(number),
        tenant=tenant,
        data={"found": citizen is not None},
        request=request,
    )
    if citizen is None:
        raise ValidationError(
            _("No account has this ID number. The citizen registers first (real name).")
        )
    return citizen


# --- acceptance (受理) -------------------------------------------------------------------------


def accept(case: Case, *, actor, request=None) -> Case:
    """受理: the materials are complete and in order; the time limit starts."""

    def change(case, now):
        case.accepted_at = now
        case.corrections = []

    with transaction.atomic():
        accepted = _transition(case, "accept", actor=actor, request=request, change=change)
        # The notice of acceptance carries the QR code to rate the case with (扫码评价).
        rating_tokens.register(current_tenant(), accepted)
        unauthorised = _not_authorised_here(accepted)
        if unauthorised:  # 上报 by rule, in the acceptance's transaction
            accepted = _pass_on(
                accepted, "escalate", transitions.RULE_ACTOR, unauthorised, request=request
            )
        else:
            _charge(accepted, "acceptance", actor, request)  # 统一公共支付
            review = (
                None
                if accepted.received_from_id
                else ParallelReview.objects.filter(
                    implementation_id=accepted.implementation_id
                ).first()
            )
            if review is not None:  # 并联审批, in the acceptance's transaction
                accepted = _start_parallel(accepted, review, request=request)
    return accepted


def _charge(case: Case, stage: str, actor, request) -> None:
    from shared_apps.catalog.fees import FeeRuleError

    try:
        payments.create_case_order(
            case, tenant=current_tenant(), stage=stage, actor=actor, request=request
        )
    except FeeRuleError as error:
        raise transitions.CaseConflict(error.messages[0]) from None


def reject(case: Case, *, actor, reasons: str, request=None) -> Case:
    """不予受理, with the reasons (and the applicant's right to a review or a suit)."""
    reasons = clean_text(reasons, "reasons", required=True)

    def change(case, now):
        case.closed_at = now

    return _transition(case, "reject", actor=actor, request=request, reason=reasons, change=change)


def request_corrections(case: Case, *, actor, items: list[str], request=None) -> Case:
    """补正: tell the applicant everything that must be corrected or supplied, at once. The clock
    does not run until they resubmit."""
    if not isinstance(items, list) or not items or len(items) > 50:
        raise ValidationError({"items": [_("List between 1 and 50 things to correct.")]})
    cleaned = [
        clean_text(item, f"items.{i}", required=True, max_length=500)
        for i, item in enumerate(items)
    ]

    def change(case, now):
        case.return_state = case.state
        case.corrections = cleaned

    return _transition(
        case,
        "request_corrections",
        actor=actor,
        request=request,
        reason="；".join(cleaned)[:2000],
        details={"items": cleaned},
        change=change,
    )


def resubmit(
    case: Case, *, actor, form_data: dict | None = None, materials: list | None = None, request=None
) -> Case:
    """The applicant's corrections: the form and materials are checked in full again."""

    def change(case, now):
        _fill(case, _implementation(case), form_data, materials, complete=True)
        case.corrections = []

    with transaction.atomic():
        resubmitted = _transition(case, "resubmit", actor=actor, request=request, change=change)
        _record_license_uses(resubmitted, actor, request)
    return resubmitted


# --- review and decision ----------------------------------------------------------------------


def start_review(case: Case, *, actor, request=None) -> Case:
    return _transition(case, "start_review", actor=actor, request=request)


def decide(
    case: Case, *, actor, decision: str, reasons: str = "", legal_basis: str, request=None
) -> Case:
    """Approve or refuse, with the legal basis; a refusal gives its reasons (§38)."""
    if decision not in Decision.values:
        raise ValidationError({"decision": [_("Approve or refuse.")]})
    reasons = clean_text(reasons, "reasons", required=decision == Decision.REFUSED)
    legal_basis = clean_text(legal_basis, "legal_basis", required=True)

    def change(case, now):
        if not case.received_from_id and _implementation(case).decided_by_id:
            raise transitions.CaseConflict(
                _("Another unit decides this item: pass the case to it (多级联办).")
            )
        case.decision, case.decision_reasons = decision, reasons
        case.decision_legal_basis, case.decided_at = legal_basis, now

    with transaction.atomic():
        decided = _transition(
            case,
            "decide",
            actor=actor,
            request=request,
            reason=reasons,
            details={"decision": decision, "legal_basis": legal_basis},
            change=change,
        )
        if decided.received_from_id:  # the result goes back for delivery, in this transaction
            _send_handoff(decided, decided.received_from_id, Kind.JOINT_RESULT)
        if decision == Decision.APPROVED:  # the fees charged before the result is delivered
            _charge(decided, "delivery", actor, request)
    return decided


def deliver(case: Case, *, actor, method: str, details: str = "", request=None) -> Case:
    """送达: the result reaches the applicant electronically, at the window or by post (with the
    address or tracking number). An approved item that produces a license issues it."""
    if method not in Delivery.values:
        raise ValidationError({"method": [_("Choose how the result is delivered.")]})
    details = clean_text(details, "details", required=method == Delivery.POST, max_length=300)

    def change(case, now):
        if case.received_from_id:
            raise transitions.CaseConflict(
                _("The unit that accepted this case delivers its result.")
            )
        case.delivery_method, case.delivery_details = method, details

    with transaction.atomic():
        delivered = _transition(
            case,
            "deliver",
            actor=actor,
            request=request,
            details={"method": method, "details": details},
            change=change,
        )
        # An approved result that is a license (证照) is issued into the provincial library
        # (`public`) in this transaction: delivered means issued.
        if delivered.decision == Decision.APPROVED:
            issue_for_case(delivered, actor=actor, tenant=current_tenant(), request=request)
    return delivered


def close(case: Case, *, actor, request=None) -> Case:
    def change(case, now):
        case.closed_at = now

    return _transition(case, "close", actor=actor, request=request, change=change)


def withdraw(case: Case, *, actor, reason: str = "", request=None) -> Case:
    """The applicant withdraws the application (or abandons a draft)."""
    reason = clean_text(reason, "reason")

    def change(case, now):
        case.closed_at = now

    with transaction.atomic():
        withdrawn = _transition(
            case, "withdraw", actor=actor, request=request, reason=reason, change=change
        )
        if withdrawn.received_from_id:  # the unit below waits for it: it ends there too
            _send_handoff(withdrawn, withdrawn.received_from_id, Kind.JOINT_RESULT, reason)
    return withdrawn


def suspend(case: Case, *, actor, ground: str, reason: str, request=None) -> Case:
    """§45: a hearing, tendering, testing, appraisal or expert review; its time is not counted."""
    if ground not in SUSPENSION_GROUNDS:
        raise ValidationError({"ground": [_("Name the ground of the suspension (§45).")]})
    reason = clean_text(reason, "reason", required=True)

    def change(case, now):
        case.return_state = case.state

    return _transition(
        case,
        "suspend",
        actor=actor,
        request=request,
        reason=reason,
        details={"ground": ground},
        change=change,
    )


def resume(case: Case, *, actor, reason: str = "", request=None) -> Case:
    reason = clean_text(reason, "reason")
    return _transition(case, "resume", actor=actor, request=request, reason=reason)


def extend(
    case: Case,
    *,
    actor,
    reason: str,
    days: int = EXTENSION_DAYS,
    legal_basis: str = "",
    request=None,
) -> Case:
    """§42: a department head extends the time limit once, by 10 working days, or as another
    law gives (up to 30, naming it), with the reason told to the applicant."""
    reason = clean_text(reason, "reason", required=True)
    legal_basis = clean_text(legal_basis, "legal_basis", required=days > EXTENSION_DAYS)
    if not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValidationError(
            {"days": [_("Between 1 and %(days)s working days.") % {"days": MAX_EXTENSION_DAYS}]}
        )

    def change(case, now):
        if case.extension_days:
            raise transitions.CaseConflict(_("The time limit of this case was already extended."))
        case.extension_days, case.extension_reason = days, reason

    return _transition(
        case,
        "extend",
        actor=actor,
        request=request,
        reason=reason,
        details={"days": days, "legal_basis": legal_basis},
        change=change,
    )


# --- across levels (hand-offs, shared_apps.handoffs) ------------------------------------------

LEVEL_CODES = {"province": 2, "city": 3, "county": 4, "township": 5}


def _not_authorised_here(case: Case) -> str:
    """The reason to escalate a just-accepted case by rule, or "": the item is no longer
    exercised at this unit's level (the province re-graded it after this unit published it) and
    no other unit is named to decide it."""
    implementation = _implementation(case)
    levels = implementation.item.exercising_levels or []
    if implementation.decided_by_id or not levels or 7 in levels:
        return ""
    if LEVEL_CODES.get(current_tenant().level) in levels:
        return ""
    return _("This unit is not authorised for this item; escalated by rule.")


def _handoff_payload(case: Case, reason: str = "", *, with_files: bool = False) -> dict:
    """What the receiving unit needs of the case: as filed, and the clock so far; and, for a case
    passed on to be handled there, its files (the stored objects are never changed or deleted
    once a case is filed, so the receiving unit's rows name the same ones)."""
    files = [
        {
            "public_id": str(file.public_id),
            "material_id": file.material_id,
            "uploaded_by_id": file.uploaded_by_id,
            **CaseFile.values_of(file.stored),
            "uploaded_at": file.uploaded_at.isoformat(),
        }
        for file in (case.files.order_by("id") if with_files else ())
    ]
    return {
        "files": files,
        "number": case.number,
        "implementation_id": case.implementation_id,
        "implementation_code": case.implementation_code,
        "item_name": case.item_name,
        "guide_version_id": case.guide_version_id,
        "department_name": case.department_name,
        "statutory_days": case.statutory_days,
        "promised_days": case.promised_days,
        "applicant_id": case.applicant_id,
        "organisation_id": case.organisation_id,
        "proxy_agent_id": case.proxy_agent_id,
        "proxy_consent_id": case.proxy_consent_id,
        "filed_by_id": case.filed_by_id,
        "channel": case.channel,
        "form_data": case.form_data,
        "materials": case.materials,
        "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None,
        "accepted_at": case.accepted_at.isoformat() if case.accepted_at else None,
        "state": case.state,
        "days_used": case.clock_days_used,
        "extension_days": case.extension_days,
        "extension_reason": case.extension_reason,
        "sent_at": timezone.now().isoformat(),
        "reason": reason,
        "decision": case.decision,
        "decision_reasons": case.decision_reasons,
        "decision_legal_basis": case.decision_legal_basis,
        "decided_at": case.decided_at.isoformat() if case.decided_at else None,
    }


def _send_handoff(case: Case, to_tenant_id: int, kind: str, reason: str = ""):
    from shared_apps.handoffs.queue import send
    from tenants.models import Tenant

    return send(
        from_tenant=current_tenant(),
        to_tenant=Tenant.objects.get(pk=to_tenant_id),
        case=case,
        kind=kind,
        payload=_handoff_payload(
            case, reason, with_files=kind in (Kind.JOINT_ACCEPT, Kind.ESCALATE)
        ),
    )


def _pass_on(case: Case, intent: str, actor, reason: str, request=None) -> Case:
    """forward, escalate, return: the case waits here `forwarded` (clock paused) and one hand-off
    to the other unit is written in the same transaction."""
    tenant = current_tenant()
    target, details = {}, {}  # filled in by `change`, before the event is written

    def change(case, now):
        if intent == "forward":
            decided_by = _implementation(case).decided_by_id
            if not decided_by or case.received_from_id:
                raise transitions.CaseConflict(_("This unit decides this item itself."))
            target["to"], target["kind"] = decided_by, Kind.JOINT_ACCEPT
        elif intent == "escalate":
            if tenant.parent_id is None:
                raise transitions.CaseConflict(_("This unit has no parent unit to escalate to."))
            target["to"], target["kind"] = tenant.parent_id, Kind.ESCALATE
        else:
            if case.received_as != Kind.ESCALATE or not case.received_from_id:
                raise transitions.CaseConflict(
                    _("Only a case escalated to this unit can be returned.")
                )
            target["to"], target["kind"] = case.received_from_id, Kind.RETURN
        case.passed_to_id = details["to_tenant_id"] = target["to"]

    with transaction.atomic():
        moved = _transition(
            case,
            intent,
            actor=actor,
            request=request,
            reason=reason,
            details=details,
            change=change,
        )
        _send_handoff(moved, target["to"], target["kind"], reason)
    return moved


def forward(case: Case, *, actor, request=None) -> Case:
    """多级联办 (收受分离): pass an accepted case (pre-reviewed or not, §43) to the unit that
    decides the item; the decision comes back here for delivery."""
    return _pass_on(case, "forward", actor, "", request=request)


def escalate(case: Case, *, actor, reason: str, request=None) -> Case:
    """上报: pass the case to the parent unit, with the reason."""
    reason = clean_text(reason, "reason", required=True)
    return _pass_on(case, "escalate", actor, reason, request=request)


def return_case(case: Case, *, actor, reason: str, request=None) -> Case:
    """退回: give a case escalated to this unit back to the unit below, with the reason."""
    reason = clean_text(reason, "reason", required=True)
    return _pass_on(case, "return", actor, reason, request=request)


def receive_handoff(handoff) -> Case | None:
    """Apply one hand-off in this (the receiving) unit, as the relay does inside this unit's
    schema and in the transaction that marks it applied: a case handed over becomes a case here
    (same public id and number, its clock going on from the days used), a decision or a return
    moves the waiting case on. None if this hand-off was applied here before (its id is on a
    case event, unique)."""
    from datetime import datetime

    tenant = current_tenant()
    if handoff.to_tenant_id != tenant.id:
        raise PermissionDenied(_("This hand-off is for another unit."))
    data = handoff.payload
    if handoff.kind in PARALLEL_KINDS:
        return PARALLEL_KINDS[handoff.kind](handoff, tenant, data)
    existing = Case.objects.filter(public_id=handoff.case_public_id).first()
    # No case here yet: this hand-off can't have been applied here (applying it makes the case).
    if existing is None and handoff.kind in (Kind.JOINT_ACCEPT, Kind.ESCALATE):
        return _receive_cases([handoff], tenant)[0]
    if existing is None:
        raise transitions.CaseConflict(_("No case here has this public id."))
    if CaseEvent.objects.filter(handoff_id=handoff.pk).exists():
        return None

    withdrawn = handoff.kind == Kind.JOINT_RESULT and data.get("state") == State.WITHDRAWN

    def change(case, now):
        case.clock_days_used = max(case.clock_days_used, data["days_used"])
        case.passed_to_id = None
        if withdrawn:
            case.closed_at = now
        elif handoff.kind == Kind.JOINT_RESULT:
            case.decision, case.decision_reasons = data["decision"], data["decision_reasons"]
            case.decision_legal_basis = data["decision_legal_basis"]
            case.decided_at = datetime.fromisoformat(data["decided_at"])

    intent = (
        "receive_withdrawal"
        if withdrawn
        else "receive_result"
        if handoff.kind == Kind.JOINT_RESULT
        else "take_back"
    )
    moved = _transition(
        existing,
        intent,
        actor=transitions.HANDOFF_ACTOR,
        reason=data.get("reason", ""),
        details={"handoff": handoff.pk, "from_tenant_id": handoff.from_tenant_id},
        change=change,
        handoff_id=handoff.pk,
    )
    if intent != "take_back" and moved.received_from_id:
        # This unit had received the case from below too: the result goes on down.
        _send_handoff(moved, moved.received_from_id, Kind.JOINT_RESULT)
    return moved


def receive_handoffs(handoffs) -> None:
    """Apply a batch of hand-offs to this unit at once, as the relay does (at most one per case,
    each for this unit), in the caller's transaction: the cases handed over that are new here are
    made together — their rows, events, audit entries, outbox and index rows each in one
    statement — and the rest are applied one by one (receive_handoff). All or nothing: when this
    raises, the relay applies them one at a time to find the one that fails."""
    tenant = current_tenant()
    if any(handoff.to_tenant_id != tenant.id for handoff in handoffs):
        raise PermissionDenied(_("This hand-off is for another unit."))
    here = set(
        Case.objects.filter(
            public_id__in=[handoff.case_public_id for handoff in handoffs]
        ).values_list("public_id", flat=True)
    )
    new = [
        handoff
        for handoff in handoffs
        if handoff.kind in (Kind.JOINT_ACCEPT, Kind.ESCALATE) and handoff.case_public_id not in here
    ]
    if len({handoff.case_public_id for handoff in new}) != len(new):
        raise transitions.CaseConflict(_("Two hand-offs of one case in one batch."))
    _receive_cases(new, tenant)
    for handoff in handoffs:
        if handoff not in new:
            receive_handoff(handoff)


def _receive_cases(handoffs, tenant) -> list[Case]:
    """The linked cases in the deciding (or parent) unit: accepted, each clock running from the
    day it was sent with the days already used below."""
    from datetime import datetime

    if not handoffs:
        return []
    payloads = [handoff.payload for handoff in handoffs]
    # The unit's own published implementation of each item handed over, if it has one.
    item_of = dict(
        Implementation.objects.filter(
            pk__in={data["implementation_id"] for data in payloads}
        ).values_list("pk", "item_id")
    )
    own_of_item = {
        own.item_id: own
        for own in Implementation.objects.filter(
            tenant=tenant, item_id__in=set(item_of.values()), status=Implementation.Status.PUBLISHED
        ).only("pk", "item_id", "code", "department_id", "department_name")
    }
    now = timezone.now()
    cases = []
    for handoff, data in zip(handoffs, payloads, strict=True):
        own = own_of_item.get(item_of.get(data["implementation_id"]))
        case = Case(
            public_id=handoff.case_public_id,
            number=handoff.case_number or None,
            implementation_id=own.pk if own else data["implementation_id"],
            implementation_code=own.code if own else data["implementation_code"],
            item_name=data["item_name"],
            guide_version_id=data["guide_version_id"],
            department_id=own.department_id if own else 0,
            department_name=own.department_name if own else data["department_name"],
            statutory_days=data["statutory_days"],
            promised_days=data["promised_days"],
            applicant_id=data["applicant_id"],
            organisation_id=data["organisation_id"],
            proxy_agent_id=data["proxy_agent_id"],
            proxy_consent_id=data["proxy_consent_id"],
            filed_by_id=data["filed_by_id"],
            channel=data["channel"],
            state=State.ACCEPTED,
            form_data=data["form_data"],
            materials=data["materials"],
            extension_days=data["extension_days"],
            extension_reason=data["extension_reason"],
            submitted_at=(
                datetime.fromisoformat(data["submitted_at"]) if data["submitted_at"] else None
            ),
            accepted_at=(
                datetime.fromisoformat(data["accepted_at"]) if data["accepted_at"] else now
            ),
            received_from_id=handoff.from_tenant_id,
            received_as=handoff.kind,
        )
        # The clock runs on from the day it was sent, with the days already used below
        # (clock.start, but not from zero).
        case.clock_state = ClockState.RUNNING
        case.clock_running_since = clock.local_day(datetime.fromisoformat(data["sent_at"]))
        case.clock_days_used = data["days_used"]
        clock.refresh(case, now)  # a year the calendar lacks leaves clock_error, as for any clock
        cases.append(case)
    Case.objects.bulk_create(cases)
    CaseFile.objects.bulk_create(
        CaseFile(
            case=case,
            public_id=file["public_id"],
            material_id=file["material_id"],
            uploaded_by_id=file["uploaded_by_id"],
            storage_name=file["storage_name"],
            original_name=file["original_name"],
            content_type=file["content_type"],
            size=file["size"],
            sha256=file["sha256"],
            uploaded_at=datetime.fromisoformat(file["uploaded_at"]),
        )
        for case, data in zip(cases, payloads, strict=True)
        for file in data.get("files", ())
    )
    index_cases(tenant=tenant, cases=cases)
    queries.forget_queue_counts()
    marks = [mark for case in cases if (mark := clock.next_mark_at(case, now)) is not None]
    if marks:
        watch_deadline(tenant, min(marks))
    events, audits, outbox = [], [], []
    for handoff, data, case in zip(handoffs, payloads, cases, strict=True):
        details = {"handoff": handoff.pk, "from_tenant_id": handoff.from_tenant_id}
        reason = data.get("reason", "")
        events.append(
            CaseEvent(
                case=case,
                at=now,
                intent=f"receive_{handoff.kind}",
                from_state="",
                to_state=State.ACCEPTED,
                actor=transitions.HANDOFF_ACTOR,
                role=transitions.SYSTEM,
                channel=Channel.SYSTEM,
                reason=reason,
                details=details,
                handoff_id=handoff.pk,
            )
        )
        audits.append(
            (
                case.number or str(case.public_id),
                {"kind": handoff.kind, "handoff": handoff.pk, "from": handoff.from_tenant_id},
            )
        )
        outbox.append(
            outbox_row(
                tenant=tenant,
                case=case,
                event=f"receive_{handoff.kind}",
                from_state="",
                to_state=State.ACCEPTED,
                clock=clock.snapshot(case),
                at=now,
                reason=reason,
                details=details,
            )
        )
    CaseEvent.objects.bulk_create(events)
    record_audit_many(
        actor=transitions.HANDOFF_ACTOR,
        action="cases.receive_handoff",
        tenant=tenant,
        entries=audits,
    )
    CaseEventOutbox.objects.bulk_create(outbox)
    return cases


# --- parallel approval (并联审批) ------------------------------------------------------------


def _task_due(start, days: int):
    """The end of the task's last working day counted from `start`; None while the official
    calendar does not cover it (as a case's clock, never a guess)."""
    try:
        return clock.end_of(clock.add_working_days(clock.local_day(start), days))
    except clock.CalendarNotCovered:
        return None


def _start_parallel(case: Case, review: ParallelReview, *, request=None) -> Case:
    """The accepted case goes to every department of the item's parallel review at once, each
    with its own task and clock; a department of another unit gets its task by hand-off."""
    departments = list(review.departments.select_related("tenant"))
    tenant = current_tenant()
    tasks = []

    def change(case, now):
        for department in departments:
            tasks.append(
                ParallelTask.objects.create(
                    case=case,
                    case_public_id=case.public_id,
                    case_number=case.number or "",
                    item_name=case.item_name,
                    unit_id=department.tenant_id,
                    department_id=department.department_id,
                    department_name=department.department_name,
                    rule=review.rule,
                    due_at=_task_due(now, department.days),
                )
            )

    details = {
        "rule": review.rule,
        "departments": [
            {"unit_id": d.tenant_id, "department": d.department_name, "days": d.days}
            for d in departments
        ],
    }
    with transaction.atomic():
        moved = _transition(
            case,
            "start_parallel",
            actor=transitions.PARALLEL_ACTOR,
            request=request,
            details=details,
            change=change,
        )
        for task in tasks:
            if task.unit_id != tenant.id:
                _send_task_handoff(task, Kind.PARALLEL_TASK, form_data=moved.form_data)
    return moved


def _send_task_handoff(task: ParallelTask, kind: str, **extra):
    from types import SimpleNamespace

    from shared_apps.handoffs.queue import send
    from tenants.models import Tenant

    to = task.unit_id if kind != Kind.PARALLEL_OPINION else task.requested_by_id
    return send(
        from_tenant=current_tenant(),
        to_tenant=Tenant.objects.get(pk=to),
        case=SimpleNamespace(public_id=task.case_public_id, number=task.case_number),
        kind=kind,
        payload={
            "task": str(task.public_id),
            "item_name": task.item_name,
            "department_id": task.department_id,
            "department_name": task.department_name,
            "rule": task.rule,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "state": task.state,
            "opinion": task.opinion,
            "decided_by": task.decided_by,
            "decided_at": task.decided_at.isoformat() if task.decided_at else None,
            **extra,
        },
    )


def complete_task(task: ParallelTask, *, actor, decision: str, opinion: str, request=None):
    """A department's opinion on its parallel task (会签意见): approve or refuse, with the opinion.
    Only staff (reviewer, approver, department head) of that department in this unit give it.
    The same opinion sent again is a no-op; another one on a finished task is a conflict. On the
    accepting unit's case the last opinion moves the case on (once, under the case's lock); with
    "stop at the first refusal" a refusal decides the case as refused and cancels the open tasks.
    A task received from another unit sends its opinion back by hand-off."""
    if decision not in (TaskState.APPROVED, TaskState.REFUSED):
        raise ValidationError({"decision": [_("Approve or refuse.")]})
    opinion = clean_text(opinion, "opinion", required=True, max_length=2000)
    tenant = current_tenant()
    who = Actor.of(actor)
    with transaction.atomic():
        # The case first, then the task: two departments finishing at once are serialised on
        # the case, so exactly one of them sees no open task left and moves it on.
        case = None
        if task.case_id:
            case = Case.objects.select_for_update().filter(pk=task.case_id).first()
        locked = ParallelTask.objects.select_for_update().filter(pk=task.pk).first()
        if locked is None or locked.unit_id != tenant.id:
            raise PermissionDenied(_("This task is not one of this unit's departments."))
        if not queries.may_complete_task(who.user, tenant, locked):
            raise PermissionDenied(
                _("Only the staff of %(department)s give this opinion.")
                % {"department": locked.department_name}
            )
        if locked.state != TaskState.PENDING:
            if (locked.state, locked.opinion) == (decision, opinion):
                return locked  # sent again (a double click, a resent request): already done
            raise transitions.CaseConflict(
                _("This task is already “%(state)s”.") % {"state": TaskState(locked.state).label}
            )
        now = timezone.now()
        locked.state, locked.opinion = decision, opinion
        locked.decided_by, locked.decided_at = who.name[:150], now
        locked.save(update_fields=["state", "opinion", "decided_by", "decided_at"])
        record_audit(
            actor=who,
            action="cases.complete_task",
            target=locked.case_number or str(locked.case_public_id),
            tenant=tenant,
            data={"task": str(locked.public_id), "decision": decision, "opinion": opinion[:500]},
            request=request,
        )
        queries.forget_queue_counts()
        if case is not None:
            _after_opinion(case, locked, now)
        else:
            _send_task_handoff(locked, Kind.PARALLEL_OPINION)
    return locked


def _after_opinion(case: Case, task: ParallelTask, now) -> None:
    """In the accepting unit, under the case's lock: the opinion reaches the ledger, and the
    case moves on when this was the last one, or stops at a refusal when the item says so."""
    tenant = current_tenant()
    record_case_event(
        tenant=tenant,
        case=case,
        event=f"parallel_task.{task.state}",
        from_state=case.state,
        to_state=case.state,
        clock=clock.snapshot(case),
        at=now,
        reason=task.opinion,
        details={
            "task": str(task.public_id),
            "department": task.department_name,
            "unit_id": task.unit_id,
        },
    )
    if case.state != State.PARALLEL_REVIEW:
        return  # stopped by another department's refusal before this opinion came
    open_tasks = ParallelTask.objects.filter(case=case, state=TaskState.PENDING)
    if task.state == TaskState.REFUSED and task.rule == ParallelRule.STOP_AT_REFUSAL:
        cancelled = list(open_tasks.select_for_update())
        open_tasks.update(state=TaskState.CANCELLED)
        for other in cancelled:
            if other.unit_id != tenant.id:
                _send_task_handoff(other, Kind.PARALLEL_CANCEL)
        reasons = f"{task.department_name}：{task.opinion}"

        def refuse(case, at):
            case.decision, case.decision_reasons, case.decided_at = Decision.REFUSED, reasons, at

        _transition(
            case,
            "stop_parallel",
            actor=transitions.PARALLEL_ACTOR,
            reason=reasons[:2000],
            details={
                "decision": Decision.REFUSED,
                "task": str(task.public_id),
                "cancelled": len(cancelled),
            },
            change=refuse,
        )
    elif not open_tasks.exists():
        counts = dict.fromkeys(TaskState.values, 0)
        for state in ParallelTask.objects.filter(case=case).values_list("state", flat=True):
            counts[state] += 1
        _transition(case, "join", actor=transitions.PARALLEL_ACTOR, details=counts)


def _receive_parallel_task(handoff, tenant, data: dict) -> ParallelTask | None:
    """Another unit's case asks a department of this unit for its opinion: its task here."""
    from datetime import datetime

    from tenant_apps.departments.models import Department

    if ParallelTask.objects.filter(handoff_id=handoff.pk).exists():
        return None
    if not Department.objects.filter(pk=data["department_id"]).exists():
        raise PermissionDenied(_("This unit has no such department."))
    task = ParallelTask.objects.create(
        public_id=data["task"],
        case_public_id=handoff.case_public_id,
        case_number=handoff.case_number,
        item_name=data["item_name"],
        unit_id=tenant.id,
        department_id=data["department_id"],
        department_name=data["department_name"],
        requested_by_id=handoff.from_tenant_id,
        form_data=data.get("form_data") or {},
        rule=data["rule"],
        due_at=datetime.fromisoformat(data["due_at"]) if data["due_at"] else None,
        handoff_id=handoff.pk,
    )
    queries.forget_queue_counts()
    record_audit(
        actor=transitions.HANDOFF_ACTOR,
        action="cases.receive_handoff",
        target=handoff.case_number or str(handoff.case_public_id),
        tenant=tenant,
        data={"kind": handoff.kind, "handoff": handoff.pk, "from": handoff.from_tenant_id},
    )
    return task


def _receive_parallel_opinion(handoff, tenant, data: dict) -> ParallelTask | None:
    """A department of another unit gave its opinion: it completes this unit's task for it and
    may move the case on, as a department here would."""
    from datetime import datetime

    if ParallelTask.objects.filter(handoff_id=handoff.pk).exists():
        return None
    task = ParallelTask.objects.filter(
        public_id=data["task"], unit_id=handoff.from_tenant_id, case__isnull=False
    ).first()
    if task is None:
        raise transitions.CaseConflict(_("No parallel task here has this id."))
    case = Case.objects.select_for_update().get(pk=task.case_id)
    task = ParallelTask.objects.select_for_update().get(pk=task.pk)
    task.handoff_id = handoff.pk
    if task.state == TaskState.PENDING:  # not cancelled meanwhile
        task.state, task.opinion = data["state"], data["opinion"]
        task.decided_by = data["decided_by"]
        task.decided_at = datetime.fromisoformat(data["decided_at"])
    task.save(update_fields=["handoff_id", "state", "opinion", "decided_by", "decided_at"])
    record_audit(
        actor=transitions.HANDOFF_ACTOR,
        action="cases.receive_handoff",
        target=handoff.case_number or str(handoff.case_public_id),
        tenant=tenant,
        data={"kind": handoff.kind, "handoff": handoff.pk, "from": handoff.from_tenant_id},
    )
    queries.forget_queue_counts()
    if task.state in (TaskState.APPROVED, TaskState.REFUSED):
        _after_opinion(case, task, timezone.now())
    return task


def _receive_parallel_cancel(handoff, tenant, data: dict) -> ParallelTask | None:
    """The case was stopped by another department's refusal: the task here is not needed."""
    task = (
        ParallelTask.objects.select_for_update()
        .filter(public_id=data["task"], requested_by_id=handoff.from_tenant_id)
        .first()
    )
    if task is None or task.state != TaskState.PENDING:
        return None
    task.state = TaskState.CANCELLED
    task.save(update_fields=["state"])
    queries.forget_queue_counts()
    record_audit(
        actor=transitions.HANDOFF_ACTOR,
        action="cases.receive_handoff",
        target=handoff.case_number or str(handoff.case_public_id),
        tenant=tenant,
        data={"kind": handoff.kind, "handoff": handoff.pk, "from": handoff.from_tenant_id},
    )
    return task


PARALLEL_KINDS = {
    Kind.PARALLEL_TASK: _receive_parallel_task,
    Kind.PARALLEL_OPINION: _receive_parallel_opinion,
    Kind.PARALLEL_CANCEL: _receive_parallel_cancel,
}


# --- the deadline job -------------------------------------------------------------------------

# Retried per run for cases whose due times the calendar could not give (few, and rare).
UNKNOWN_DUE_BATCH = 500


def mark_deadlines(*, actor="system:deadlines", at=None) -> dict:
    """Mark the unit's running cases yellow (the configured share of their time used) and red
    (overdue) as of `at`, in one set-based statement that also writes an outbox row per newly
    marked case for the responsible staff. Due times a year the calendar did not cover left
    unknown are computed again; those still unknown raise an alert (an error in the log), never a
    guess. Then counts the unit's running clocks and sets when the unit next has something to
    mark (`ledger.DeadlineWatch`, what `run_scheduler` sends by). Audited only when a case was
    marked."""
    tenant = current_tenant()
    at = at or timezone.now()
    with transaction.atomic():
        seen_changes = (
            DeadlineWatch.objects.filter(tenant=tenant).values_list("changes", flat=True).first()
        )
        unknown = []
        for case in Case.objects.select_for_update(skip_locked=True).filter(
            clock_state=ClockState.RUNNING, due_at__isnull=True
        )[:UNKNOWN_DUE_BATCH]:
            clock.refresh(case, at, alert=False)
            case.save(
                update_fields=[
                    "due_at",
                    "statutory_due_at",
                    "yellow_at",
                    "clock_error",
                    "deadline_flag",
                ]
            )
            index_case(tenant=tenant, case=case)
            if case.due_at is None:
                unknown.append((case.number or str(case.public_id), case.clock_error))
        if unknown:
            logger.error(
                "Deadline job in %s: the due times of %d running cases are unknown (%s): %s",
                tenant.code,
                len(unknown),
                ", ".join(label for label, _error in unknown[:10]),
                unknown[0][1],
            )
        params = {
            "at": at,
            "red": DeadlineFlag.RED.value,
            "yellow": DeadlineFlag.YELLOW.value,
            "none": DeadlineFlag.NONE.value,
            "running": ClockState.RUNNING.value,
            "tenant": tenant.pk,
        }
        with connection.cursor() as cursor:
            # The outbox row and the applicant's index row are written by the same statement
            # (public's tables, this unit's id): hundreds of thousands of cases marked at once
            # never pass through Python.
            cursor.execute(
                "WITH marked AS ("
                " UPDATE cases_case SET deadline_flag = CASE WHEN due_at <= %(at)s THEN %(red)s"
                " ELSE %(yellow)s END, updated_at = %(at)s"
                " WHERE clock_state = %(running)s AND due_at IS NOT NULL AND ("
                "(due_at <= %(at)s AND deadline_flag <> %(red)s)"
                " OR (due_at > %(at)s AND yellow_at <= %(at)s AND deadline_flag = %(none)s))"
                " RETURNING public_id, number, state, deadline_flag, clock_days_used,"
                " promised_days, statutory_days, extension_days, due_at, yellow_at,"
                " applicant_id, proxy_agent_id, item_name, implementation_code,"
                " department_id, department_name, channel, organisation_id),"
                " indexed AS (UPDATE public.ledger_applicantcase AS i"
                " SET deadline_flag = m.deadline_flag, updated_at = %(at)s"
                " FROM marked m WHERE i.case_public_id = m.public_id),"
                " written AS (INSERT INTO public.ledger_caseeventoutbox (tenant_id, case_number,"
                " case_public_id, event, from_state, to_state, at, clock, notify_applicant,"
                " notify_staff, applicant_id, proxy_agent_id, item_name, details,"
                " implementation_code, department_id, department_name, channel, applicant_kind)"
                " SELECT %(tenant)s, coalesce(number, ''), public_id,"
                " 'deadline.' || deadline_flag, state, state, %(at)s, jsonb_build_object("
                "'state', %(running)s, 'days_used', clock_days_used, 'promised_days',"
                " promised_days, 'statutory_days', statutory_days, 'extension_days',"
                " extension_days, 'due_at', due_at, 'yellow_at', yellow_at, 'flag',"
                " deadline_flag), false, true, applicant_id, proxy_agent_id, item_name,"
                " '{}'::jsonb, implementation_code, department_id, department_name, channel,"
                " CASE WHEN organisation_id IS NULL THEN 'person' ELSE 'organisation' END"
                " FROM marked"
                " RETURNING event)"
                " SELECT count(*) FILTER (WHERE event = 'deadline.' || %(yellow)s),"
                " count(*) FILTER (WHERE event = 'deadline.' || %(red)s) FROM written",
                params,
            )
            yellow, red = cursor.fetchone()
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE due_at IS NULL), min(CASE"
                " WHEN due_at IS NULL THEN %(at)s"
                " WHEN deadline_flag = %(none)s AND yellow_at IS NOT NULL THEN yellow_at"
                " WHEN deadline_flag <> %(red)s THEN due_at END)"
                " FROM cases_case WHERE clock_state = %(running)s",
                params,
            )
            running, errors, next_at = cursor.fetchone()
            # Another clock moved while this counted: keep the earlier time (one more run).
            cursor.execute(
                "INSERT INTO public.ledger_deadlinewatch AS w (tenant_id, next_mark_at, changes,"
                " running, clock_errors, checked_at)"
                " VALUES (%(tenant)s, %(next)s, 0, %(running_count)s, %(errors)s, %(at)s)"
                " ON CONFLICT (tenant_id) DO UPDATE SET next_mark_at = CASE"
                " WHEN w.changes = %(seen)s THEN EXCLUDED.next_mark_at"
                " ELSE LEAST(w.next_mark_at, EXCLUDED.next_mark_at) END,"
                " running = EXCLUDED.running, clock_errors = EXCLUDED.clock_errors,"
                " checked_at = EXCLUDED.checked_at",
                {
                    **params,
                    "next": next_at,
                    "running_count": running,
                    "errors": errors,
                    "seen": -1 if seen_changes is None else seen_changes,
                },
            )
        counts = {
            "yellow": yellow,
            "red": red,
            "unknown": len(unknown),
        }
        if yellow or red:
            queries.forget_queue_counts()
            record_audit(actor=actor, action="cases.deadlines_marked", tenant=tenant, data=counts)
    return counts


# --- documents ----------------------------------------------------------------------------------


def record_document_download(case: Case, *, actor, kind: str, request=None) -> None:
    """A staff member read a document of a case (documents.py): audited, as every look at a
    citizen's case by staff is a privileged act. The applicant's own downloads are not."""
    record_audit(
        actor=actor,
        action="cases.document_downloaded",
        target=case.number or str(case.public_id),
        tenant=current_tenant(),
        data={"document": kind},
        request=request,
    )


def record_file_download(case: Case, *, actor, file: CaseFile, request=None) -> None:
    """A staff member downloaded a file of a case (`/cases/<id>/files/<file id>`): audited, like
    the documents' staff downloads. The applicant's and their proxy agent's own are not."""
    record_audit(
        actor=actor,
        action="cases.file_downloaded",
        target=case.number or str(case.public_id),
        tenant=current_tenant(),
        data={"file": str(file.public_id), "material_id": file.material_id, "sha256": file.sha256},
        request=request,
    )
