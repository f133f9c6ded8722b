from django.conf import settings


def test_healthz_reports_database_and_broker(client, db):
    response = client.get("/healthz", HTTP_HOST=settings.BASE_DOMAIN)
    body = response.json()
    assert response.status_code == 200, body
    assert body["database"]["ok"] and body["broker"]["ok"]
    assert body["broker"]["kind"] in {"redis", "rabbitmq", "postgres"}
