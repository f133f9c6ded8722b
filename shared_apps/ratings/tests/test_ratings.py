"""Ratings (好差评, issue 14 item 1): one rating per case (also when two arrive at once), only once
the result is delivered, by the applicant, or by the one-time QR code of the acceptance notice
(a used or forged code refused); the unit rated sees no rater and can't change a rating; the
summaries equal a recount."""

import threading
import uuid

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count

from conftest import sign_in_with_second_factor
from shared_apps.accounts import actions as accounts
from shared_apps.accounts.models import Role
from shared_apps.audit.models import AuditEntry
from shared_apps.ratings import actions, tokens
from shared_apps.ratings.models import ItemRatingCount, Rating, RatingToken, UnitRatingCount
from tenant_apps.cases import actions as case_actions
from tenant_apps.cases.tests.conftest import case_in, publish_service, submitted_case
from tests.helpers import host_of


def delivered(people, service, tenant, applicant=None):
    return case_in("delivered", service, tenant, applicant or people.citizen)


def rate(case, people, level=2, **extra):
    arguments = {"reasons": ["fast"], "comment": "", "channel": "pc", **extra}
    return actions.rate(case, actor=people.citizen, level=level, **arguments)


def test_a_delivered_case_is_rated_once(people, service, tenant):
    case = delivered(people, service, tenant)
    rating = rate(case, people, level=1, reasons=["fast", "helpful_staff", "fast"])
    assert (rating.level, rating.channel, rating.rater_id) == (1, "pc", people.citizen.pk)
    assert rating.reasons == ["fast", "helpful_staff"]
    assert rating.tenant_id == tenant.id and rating.case_number == case.number
    with pytest.raises(actions.RatingConflict, match="已评价"):
        rate(case, people, level=5, comment="改主意了")
    assert Rating.objects.filter(case_public_id=case.public_id).count() == 1
    entry = AuditEntry.objects.filter(action="ratings.rate", target=case.number).get()
    assert entry.data == {"level": 1, "channel": "pc"} and entry.tenant_code == tenant.code


def test_the_database_refuses_a_second_rating_of_a_case(people, service, tenant):
    case = delivered(people, service, tenant)
    rating = rate(case, people)
    rating.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        rating.save(force_insert=True)


@pytest.mark.parametrize("state", ["submitted", "accepted", "under_review", "decided"])
def test_a_case_not_yet_delivered_is_not_rated(people, service, tenant, state):
    case = case_in(state, service, tenant, people.citizen)
    with pytest.raises(actions.RatingConflict):
        rate(case, people)
    assert not Rating.objects.filter(case_public_id=case.public_id).exists()


def test_a_closed_case_is_rated(people, service, tenant):
    assert rate(case_in("closed", service, tenant, people.citizen), people).level == 2


def test_only_the_applicant_rates_with_a_known_channel(people, service, tenant):
    case = delivered(people, service, tenant)
    for actor in (people.other_citizen, people.clerk):
        with pytest.raises(PermissionDenied):
            actions.rate(case, actor=actor, level=1, channel="pc")
    with pytest.raises(ValidationError):
        actions.rate(case, actor=people.citizen, level=1, channel="qr")  # the QR path's own
    assert not Rating.objects.filter(case_public_id=case.public_id).exists()


@pytest.mark.parametrize(
    "arguments",
    [
        {"level": 0},
        {"level": 6},
        {"level": None},
        {"level": 5, "comment": ""},  # 非常不满意 needs a reason in words
        {"level": 4, "comment": "   "},
        {"level": 2, "reasons": ["not-a-reason"]},
        {"level": 5, "comment": "办事\x00太慢"},
        {"level": 5, "comment": "慢" * 501},
    ],
)
def test_bad_input_is_refused_and_nothing_written(people, service, tenant, arguments):
    case = delivered(people, service, tenant)
    with pytest.raises(ValidationError):
        actions.rate(case, actor=people.citizen, channel="pc", **arguments)
    assert not Rating.objects.filter(case_public_id=case.public_id).exists()
    assert not ItemRatingCount.objects.filter(implementation_code=case.implementation_code).exists()


def test_a_rating_can_not_be_changed_or_deleted_even_in_the_database(people, service, tenant):
    rating = rate(delivered(people, service, tenant), people)
    with pytest.raises(DatabaseError, match="can't be changed"), transaction.atomic():
        Rating.objects.filter(pk=rating.pk).update(level=1)
    with pytest.raises(DatabaseError, match="can't be changed"), transaction.atomic():
        Rating.objects.filter(pk=rating.pk).delete()
    assert Rating.objects.get(pk=rating.pk).level == 2


def test_the_summaries_equal_a_recount(people, root, tenant, other_tenant):
    services = [publish_service(root, tenant), publish_service(root, tenant)]
    elsewhere = publish_service(root, other_tenant)
    levels = [1, 1, 2, 3, 4, 5, 5, 2]
    for n, level in enumerate(levels):
        case = delivered(people, services[n % 2], tenant)
        rate(case, people, level=level, comment="需要改进" if level >= 4 else "")
    rate(delivered(people, elsewhere, other_tenant), people, level=3)
    connection.set_schema_to_public()
    codes = [s.code for s in services] + [elsewhere.code]
    recount = {}
    for row in (
        Rating.objects.filter(implementation_code__in=codes)
        .values("tenant_id", "implementation_code", "level")
        .annotate(n=Count("id"))
    ):
        key = (row["tenant_id"], row["implementation_code"])
        recount.setdefault(key, [0] * 5)[row["level"] - 1] = row["n"]
    kept = {
        (c.tenant_id, c.implementation_code): [
            c.level_1,
            c.level_2,
            c.level_3,
            c.level_4,
            c.level_5,
        ]
        for c in ItemRatingCount.objects.filter(implementation_code__in=codes)
    }
    assert kept == recount and sum(map(sum, kept.values())) == len(levels) + 1
    # The unit's count is every rating of the unit (other tests' included): equal to a recount.
    for unit in (tenant, other_tenant):
        total = UnitRatingCount.objects.get(tenant=unit)
        by_level = dict(
            Rating.objects.filter(tenant=unit).values_list("level").annotate(n=Count("id"))
        )
        assert [total.level_1, total.level_2, total.level_3, total.level_4, total.level_5] == [
            by_level.get(n, 0) for n in range(1, 6)
        ]
        county = ItemRatingCount.objects.filter(tenant=unit).first()
        assert county.county_code == unit.code[:6] + "000000"


# --- the QR code of the acceptance notice ------------------------------------------------------


def _accepted(people, service, tenant):
    case = submitted_case(service, tenant, people.citizen)
    return case_actions.accept(case, actor=people.clerk)


def _deliver(people, case):
    case_actions.start_review(case, actor=people.reviewer)
    case_actions.decide(
        case, actor=people.approver, decision="approved", reasons="", legal_basis="《行政许可法》"
    )
    return case_actions.deliver(case, actor=people.clerk, method="pickup")


def test_acceptance_keeps_only_the_digest_of_the_qr_token(people, service, tenant):
    case = _accepted(people, service, tenant)
    token = tokens.token_for(tenant, case)
    row = RatingToken.objects.get(case_public_id=case.public_id)
    assert row.digest == tokens.digest(token) and token not in row.digest
    assert row.tenant_id == tenant.id and row.used_at is None
    assert tokens.rating_url(tenant, case).endswith(f"/rate/{token}")


def test_the_acceptance_notice_prints_the_rating_code(people, service, tenant):
    import io

    import pypdf

    from tenant_apps.cases import documents

    case = _accepted(people, service, tenant)
    connection.set_tenant(tenant)
    content = documents.acceptance_notice_pdf(case)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert tokens.token_for(tenant, case) in text.replace("\n", "")
    assert documents.acceptance_notice_pdf(case) == content  # the same code every time


def test_the_qr_token_rates_once_and_a_used_or_forged_one_is_refused(people, service, tenant):
    case = _accepted(people, service, tenant)
    token = tokens.token_for(tenant, case)
    connection.set_tenant(tenant)
    with pytest.raises(actions.RatingConflict):  # not delivered yet
        actions.rate_with_token(token, level=1)
    _deliver(people, case)
    connection.set_tenant(tenant)
    with pytest.raises(actions.TokenRefused):
        actions.rate_with_token(token[:-1] + ("0" if token[-1] != "0" else "1"), level=1)
    rating = actions.rate_with_token(token, level=5, reasons=["slow"], comment="等了很久")
    assert (rating.channel, rating.rater_id, rating.level) == ("qr", people.citizen.pk, 5)
    assert RatingToken.objects.get(case_public_id=case.public_id).used_at == rating.at
    with pytest.raises(actions.TokenRefused, match="已使用"):
        actions.rate_with_token(token, level=1)
    assert Rating.objects.filter(case_public_id=case.public_id).count() == 1
    entry = AuditEntry.objects.filter(action="ratings.rate", target=case.number).get()
    assert entry.actor == actions.QR_RATER and entry.actor_user_id is None


def test_a_qr_token_of_another_unit_is_refused(people, service, tenant, other_tenant):
    case = _deliver(people, _accepted(people, service, tenant))
    token = tokens.token_for(tenant, case)
    connection.set_tenant(other_tenant)
    with pytest.raises(actions.TokenRefused):
        actions.rate_with_token(token, level=1)
    response = _qr_post(other_tenant, token, level="1")
    assert response.status_code == 404
    assert not Rating.objects.filter(case_public_id=case.public_id).exists()


def _qr_post(tenant, token, **data):
    from django.test import Client

    return Client().post(f"/rate/{token}", data, HTTP_HOST=host_of(tenant))


def test_the_qr_page_rates_without_signing_in(client, people, service, tenant):
    case = _deliver(people, _accepted(people, service, tenant))
    token = tokens.token_for(tenant, case)
    page = client.get(f"/rate/{token}", HTTP_HOST=host_of(tenant))
    assert page.status_code == 200 and case.number in page.content.decode()
    refused = _qr_post(tenant, token, level="5", comment="")
    assert refused.status_code == 400 and "必填" in refused.content.decode()
    done = _qr_post(tenant, token, level="5", reasons=["slow"], comment="材料重复提交")
    assert done.status_code == 200 and "已记录" in done.content.decode()
    again = _qr_post(tenant, token, level="1")
    assert again.status_code == 409
    assert client.get(f"/rate/{'0' * 32}", HTTP_HOST=host_of(tenant)).status_code == 404
    assert Rating.objects.get(case_public_id=case.public_id).comment == "材料重复提交"


# --- the applicant's page and API; the unit's view ---------------------------------------------


def test_the_applicant_rates_on_the_case_page(client, people, service, tenant):
    case = delivered(people, service, tenant)
    client.force_login(people.citizen)
    page = client.get(f"/my/cases/{case.public_id}", HTTP_HOST=host_of(tenant))
    assert 'id="rating-form"' in page.content.decode()
    path = f"/my/cases/{case.public_id}/rating"
    refused = client.post(path, {"level": "5"}, HTTP_HOST=host_of(tenant))
    assert refused.status_code == 400 and 'id="rating-errors"' in refused.content.decode()
    response = client.post(
        path,
        {"level": "5", "reasons": ["slow"], "comment": "窗口推诿"},
        HTTP_HOST=host_of(tenant),
        HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Mobile Safari",
    )
    assert response.status_code == 302
    rating = Rating.objects.get(case_public_id=case.public_id)
    assert (rating.level, rating.channel) == (5, "mobile")
    page = client.get(f"/my/cases/{case.public_id}", HTTP_HOST=host_of(tenant)).content.decode()
    assert 'id="my-rating-level"' in page and "非常不满意" in page and "rating-form" not in page
    # Someone else's case: not found.
    other = delivered(people, service, tenant, applicant=people.other_citizen)
    assert (
        client.post(
            f"/my/cases/{other.public_id}/rating", {"level": "1"}, HTTP_HOST=host_of(tenant)
        ).status_code
        == 404
    )


def test_the_applicant_rates_through_the_api(client, people, service, tenant):
    case = delivered(people, service, tenant)
    client.force_login(people.citizen)
    path = f"/api/v1/my/cases/{case.public_id}/rating"
    host = host_of(tenant)
    assert client.get(path, HTTP_HOST=host).status_code == 404

    def post(body):
        return client.post(path, body, content_type="application/json", HTTP_HOST=host)

    assert post({"level": 4, "comment": ""}).status_code == 422
    assert post({"level": 9}).status_code == 422
    assert post({"level": 2, "reasons": ["fast", "bogus"]}).status_code == 422
    created = post({"level": 2, "reasons": ["fast"]})
    assert created.status_code == 201, created.content
    assert created.json()["level"] == 2 and created.json()["channel"] == "mobile"
    again = post({"level": 1})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert client.get(path, HTTP_HOST=host).json()["reasons"] == ["fast"]
    other = delivered(people, service, tenant, applicant=people.other_citizen)
    stranger = client.post(
        f"/api/v1/my/cases/{other.public_id}/rating",
        {"level": 1},
        content_type="application/json",
        HTTP_HOST=host,
    )
    assert stranger.status_code == 404


def test_the_unit_sees_its_ratings_without_the_rater(client, people, service, tenant, other_tenant):
    case = delivered(people, service, tenant)
    rate(case, people, level=4, comment="态度生硬")
    admin = people.staff("ratings-admin", Role.TENANT_ADMIN)
    sign_in_with_second_factor(client, admin)
    listing = client.get("/api/v1/ratings?level=4", HTTP_HOST=host_of(tenant))
    assert listing.status_code == 200
    mine = [r for r in listing.json()["items"] if r["implementation_code"] == service.code]
    assert [r["comment"] for r in mine] == ["态度生硬"]
    text = listing.content.decode()
    for personal in (str(people.citizen.pk), people.citizen.username, str(case.public_id)):
        assert f'"{personal}"' not in text
    assert case.number not in text
    assert set(mine[0]) == {
        "item_name",
        "implementation_code",
        "department_name",
        "level",
        "reasons",
        "comment",
        "channel",
        "at",
    }
    # Another unit's administrator reads none of them, whatever host they use.
    stranger = people.users.objects.create_user("ratings-other-admin")
    accounts.grant_role(
        actor=people.root, user=stranger, tenant=other_tenant, role=Role.TENANT_ADMIN
    )
    client.logout()
    sign_in_with_second_factor(client, stranger)
    assert client.get("/api/v1/ratings", HTTP_HOST=host_of(tenant)).status_code == 403
    theirs = client.get("/api/v1/ratings", HTTP_HOST=host_of(other_tenant)).json()["items"]
    assert all(r["implementation_code"] != service.code for r in theirs)


# --- two at once -------------------------------------------------------------------------------


def committed(django_db_blocker, work):
    """Run `work` in a thread with its own connection, which commits as it goes."""
    result = []

    def run():
        with django_db_blocker.unblock():
            try:
                result.append(work())
            finally:
                connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert result, "the thread failed (its error is printed above)"
    return result[0]


def race(django_db_blocker, work) -> list:
    """Run each of `work` in its own thread and connection (as the application role), released
    together."""
    start, outcomes = threading.Barrier(len(work)), []

    def run(job):
        with django_db_blocker.unblock():
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SET ROLE {connection.ops.quote_name(settings.DATABASE_APP_ROLE)}"
                    )
                start.wait()
                outcomes.append(job())
            finally:
                connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db
def test_two_ratings_at_once_one_wins(django_db_blocker):
    """Two submissions for one case, each in its own committed transaction and connection (as two
    server threads): one rating, one conflict. The rows stay in the test database (a rating can't
    be deleted), under names of this test's own."""

    def build():
        from django.contrib.auth import get_user_model

        from tenants.models import Tenant

        users = get_user_model()
        suffix = uuid.uuid4().hex[:8]
        tenant = Tenant.objects.get(code="410102000000")
        root = users.objects.create_superuser(f"rating-race-root-{suffix}")
        citizen = users.objects.create_user(f"rating-race-citizen-{suffix}")
        service = publish_service(root, tenant)
        return tenant, citizen, case_in("delivered", service, tenant, citizen)

    tenant, citizen, case = committed(django_db_blocker, build)

    def rate_as(level, channel):
        def job():
            connection.set_tenant(tenant)
            try:
                actions.rate(case, actor=citizen, level=level, channel=channel, comment="x")
                return "rated"
            except actions.RatingConflict:
                return "conflict"

        return job

    outcomes = race(django_db_blocker, [rate_as(1, "pc"), rate_as(5, "mobile")])
    assert sorted(outcomes) == ["conflict", "rated"]

    def kept():
        return (
            Rating.objects.filter(case_public_id=case.public_id).count(),
            sum(
                c.level_1 + c.level_2 + c.level_3 + c.level_4 + c.level_5
                for c in ItemRatingCount.objects.filter(
                    implementation_code=case.implementation_code
                )
            ),
        )

    assert committed(django_db_blocker, kept) == (1, 1)


# --- by SMS reply ------------------------------------------------------------------------------

GATEWAY_KEY = "gateway-test-key"


def _invitation(case, tenant, user, phone="13700000701"):
    """The SMS telling `user` the case's result was delivered, as the notification relay leaves it."""
    from shared_apps.notifications.models import Delivery, Message

    message = Message.objects.create(
        user=user,
        kind="case_delivered",
        context={"number": case.number, "case": str(case.public_id)},
        tenant=tenant,
        sent_by="system:case-notices",
    )
    return Delivery.objects.create(
        message=message, channel=Delivery.Channel.SMS, address=phone, status="sent"
    )


def _reply(client, body: dict, *, key=GATEWAY_KEY, age=0):
    import json
    import time

    from shared_apps.notifications.channels import sign_request

    raw = json.dumps(body, ensure_ascii=False).encode()
    timestamp = str(int(time.time()) - age)
    return client.post(
        "/api/v1/sms/replies",
        raw,
        content_type="application/json",
        HTTP_HOST=settings.BASE_DOMAIN,
        HTTP_X_TIMESTAMP=timestamp,
        HTTP_X_SIGNATURE=sign_request(key, timestamp, raw),
    )


def test_a_signed_sms_reply_rates_the_case_it_answers(client, people, service, tenant, settings):
    settings.SMS_GATEWAY_KEY = GATEWAY_KEY
    case = delivered(people, service, tenant)
    sent = _invitation(case, tenant, people.citizen)
    body = {"phone": "13700000701", "reference": str(sent.pk)}
    assert _reply(client, {**body, "text": "5"}).status_code == 422  # 4 and 5 need words
    assert _reply(client, {**body, "text": "好"}).status_code == 422
    assert _reply(client, {**body, "text": "1"}, key="forged").status_code == 401
    assert _reply(client, {**body, "text": "1"}, age=3600).status_code == 401  # replayed later
    assert _reply(client, {**body, "phone": "13900000000", "text": "1"}).status_code == 404
    assert _reply(client, {**body, "reference": "99999999", "text": "1"}).status_code == 404
    assert not Rating.objects.filter(case_public_id=case.public_id).exists()
    rated = _reply(client, {**body, "text": "５ 材料反复要"})  # a full-width digit, as phones send
    assert rated.status_code == 201, rated.content
    rating = Rating.objects.get(case_public_id=case.public_id)
    assert (rating.level, rating.channel, rating.comment) == (5, "sms", "材料反复要")
    assert rating.rectification.step == "verify"
    assert _reply(client, {**body, "text": "1"}).status_code == 409
    assert connection.schema_name == "public"


def test_an_sms_reply_of_someone_not_the_applicant_rates_nothing(
    client, people, service, tenant, settings
):
    settings.SMS_GATEWAY_KEY = GATEWAY_KEY
    case = delivered(people, service, tenant)
    sent = _invitation(case, tenant, people.agent, phone="13800000001")
    reply = _reply(client, {"phone": "13800000001", "reference": str(sent.pk), "text": "1"})
    assert reply.status_code == 404
    assert not Rating.objects.filter(case_public_id=case.public_id).exists()


def test_sms_replies_are_refused_without_a_gateway_key(client, people, service, tenant, settings):
    settings.SMS_GATEWAY_KEY = ""
    case = delivered(people, service, tenant)
    sent = _invitation(case, tenant, people.citizen)
    reply = _reply(client, {"phone": "13700000701", "reference": str(sent.pk), "text": "1"}, key="")
    assert reply.status_code == 401
