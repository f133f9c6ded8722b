from tests.servers import servers  # noqa: F401 (a fixture: real gunicorn servers)
