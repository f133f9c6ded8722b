"""Refuse, before any view, request text PostgreSQL can't store or Django would decode lossily: a NUL
character or bytes that are not UTF-8 in the path, the query string, form fields or cookies.
(A NUL reaching a query made psycopg raise, a 500.) JSON bodies are checked by the API's parser."""

from urllib.parse import unquote_to_bytes

from django.core.exceptions import RequestDataTooBig
from django.shortcuts import render
from django.utils.translation import gettext as _

from govplatform.errors import CODE_OF, ErrorCode, error_response, has_unstorable_text

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _wsgi_bytes(text: str) -> bytes:
    """The bytes of a WSGI environ string (PEP 3333: bytes decoded as ISO-8859-1)."""
    try:
        return text.encode("iso-8859-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _bad_encoded(raw: str) -> bool:
    """An URL-encoded string (query string, form body) with NUL or non-UTF-8 bytes."""
    return _bad_bytes(unquote_to_bytes(raw.replace("+", " ")))


def _bad_bytes(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _bad_request(request) -> bool:
    if _bad_bytes(_wsgi_bytes(request.META.get("PATH_INFO", ""))):
        return True
    if _bad_encoded(request.META.get("QUERY_STRING", "")):
        return True
    if any(has_unstorable_text(k) or has_unstorable_text(v) for k, v in request.COOKIES.items()):
        return True
    if request.method in ("POST", "PUT", "PATCH") and request.content_type in FORM_TYPES:
        if request.content_type == FORM_TYPES[0]:
            return _bad_encoded(request.body.decode("latin-1"))
        return any(
            has_unstorable_text(key) or any(has_unstorable_text(v) for v in values)
            for key, values in request.POST.lists()
        )
    return False


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            bad = _bad_request(request)
        except RequestDataTooBig:
            if request.path_info.startswith("/api/"):
                return error_response(ErrorCode.TOO_LARGE)
            raise  # Django's 400 page
        if bad:
            message = _("The request contains invalid characters (such as a NUL byte).")
            if request.path_info.startswith("/api/"):
                return error_response(ErrorCode.BAD_REQUEST, message)
            return render(request, "400.html", {"message": message}, status=400)
        response = self.get_response(request)
        if (
            request.path_info.startswith("/api/")
            and 400 <= response.status_code < 500
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            # Refusals made outside the API's handlers (ninja's 405, Django's own 4xx) in its shape.
            return _as_api_error(response)
        return response


def _as_api_error(response):
    code = CODE_OF.get(response.status_code, ErrorCode.BAD_REQUEST)
    replacement = error_response(code)
    replacement.status_code = response.status_code
    if response.has_header("Allow"):
        replacement["Allow"] = response["Allow"]
    return replacement
