"""API errors in one place: every error of both APIs is a JSON body of one shape,
`{"detail": <message in the caller's language, Chinese by default>, "code": <ErrorCode>}`, plus
`"errors"` (which field, what is wrong) when the input did not validate.

Endpoints raise `ApiError`, ninja's `HttpError`, or Django's `ValidationError`/`PermissionDenied`/
`Http404`; the handlers below turn each into that body, and `document_errors` lists it for every
operation of the OpenAPI documents."""

import json
import math
from enum import StrEnum

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    NOT_AUTHENTICATED = "not_authenticated"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    TOO_LARGE = "too_large"
    INVALID = "invalid"
    TOO_MANY_REQUESTS = "too_many_requests"
    SERVICE_BUSY = "service_busy"


STATUS_OF = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.INVALID: 422,
    ErrorCode.TOO_MANY_REQUESTS: 429,
    ErrorCode.SERVICE_BUSY: 503,
}
CODE_OF = {status: code for code, status in STATUS_OF.items()}


class FieldError(Schema):
    loc: list[str | int]
    msg: str


class ErrorOut(Schema):
    detail: str
    code: ErrorCode
    errors: list[FieldError] | None = None


class ApiError(Exception):
    """An API error with its code; the status follows from the code."""

    def __init__(self, code: ErrorCode, detail: str, errors: list[dict] | None = None):
        super().__init__(detail)
        self.code, self.detail, self.errors = code, detail, errors


def _default_detail(code: ErrorCode) -> str:
    return {
        ErrorCode.BAD_REQUEST: _("The request is malformed."),
        ErrorCode.NOT_AUTHENTICATED: _("Sign in or give a valid access token."),
        ErrorCode.PERMISSION_DENIED: _("You may not do this."),
        ErrorCode.NOT_FOUND: _("Not found."),
        ErrorCode.METHOD_NOT_ALLOWED: _("This method is not allowed here."),
        ErrorCode.CONFLICT: _("This conflicts with the current state."),
        ErrorCode.TOO_LARGE: _("The request is too large."),
        ErrorCode.INVALID: _("The request data are not valid."),
        ErrorCode.TOO_MANY_REQUESTS: _("Too many requests. Try again later."),
        ErrorCode.SERVICE_BUSY: _("The service is busy. Try again in a moment."),
    }[code]


def error_body(code: ErrorCode, detail: str = "", errors: list[dict] | None = None) -> dict:
    body = {"detail": detail or _default_detail(code), "code": code.value}
    if errors:
        body["errors"] = errors
    return body


def error_response(code: ErrorCode, detail: str = "", errors=None) -> JsonResponse:
    """An error outside ninja (middleware, URL resolution) in the same shape."""
    return JsonResponse(
        error_body(code, detail, errors),
        status=STATUS_OF[code],
        json_dumps_params={"ensure_ascii": False},
    )


def _field_errors(error: DjangoValidationError) -> list[dict] | None:
    if not hasattr(error, "error_dict"):
        return None
    return [
        {"loc": ["body", field], "msg": message}
        for field, messages in error.message_dict.items()
        for message in messages
    ]


def install_error_handlers(api) -> None:
    def respond(request, code, detail="", errors=None, status=None):
        return api.create_response(
            request, error_body(code, detail, errors), status=status or STATUS_OF[code]
        )

    @api.exception_handler(ApiError)
    def api_error(request, exc: ApiError):
        return respond(request, exc.code, exc.detail, exc.errors)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if isinstance(exc.__cause__, ApiError):  # ninja wraps what the body parser raises
            return api_error(request, exc.__cause__)
        code = CODE_OF.get(exc.status_code, ErrorCode.BAD_REQUEST)
        # ninja's own messages ("Unauthorized", "Cannot parse request body") are English.
        ninja_default = isinstance(exc, AuthenticationError) or exc.message in {
            "Cannot parse request body",
            "Too many requests.",
            "CSRF check Failed",
        }
        return respond(request, code, "" if ninja_default else exc.message, status=exc.status_code)

    @api.exception_handler(NinjaValidationError)
    def invalid_input(request, exc: NinjaValidationError):
        errors = [
            {
                "loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
            }
            for e in exc.errors
        ]
        return respond(request, ErrorCode.INVALID, "", errors)

    @api.exception_handler(DjangoValidationError)
    def invalid_data(request, exc: DjangoValidationError):
        detail = "; ".join(m for m in exc.messages)
        return respond(request, ErrorCode.INVALID, detail, _field_errors(exc))

    @api.exception_handler(PermissionDenied)
    def denied(request, exc: PermissionDenied):
        return respond(request, ErrorCode.PERMISSION_DENIED, str(exc))

    @api.exception_handler(RequestDataTooBig)
    def too_large(request, exc):
        return respond(request, ErrorCode.TOO_LARGE)

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request, exc):
        return respond(request, ErrorCode.BAD_REQUEST)

    @api.exception_handler(Http404)
    def not_found(request, exc: Http404):
        return respond(request, ErrorCode.NOT_FOUND)


# Strings PostgreSQL can't store: NUL, and lone surrogates (no UTF-8 form).
def has_unstorable_text(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


MAX_JSON_DEPTH = 64


class StrictJSONParser(Parser):
    """JSON bodies as ninja reads them, refusing what would reach the database as a server error:
    NUL characters and lone surrogates (in values and keys), absurd nesting, and numbers that are
    not finite (NaN, Infinity, 1e999: Python reads them, PostgreSQL's json does not)."""

    def parse_body(self, request):
        try:
            data = json.loads(request.body, parse_constant=_not_finite, parse_float=_finite_float)
        except NonFiniteNumber:
            raise ApiError(
                ErrorCode.BAD_REQUEST, _("The request contains a number that is not finite.")
            ) from None
        except (ValueError, RecursionError):
            raise ApiError(
                ErrorCode.BAD_REQUEST, _("The request body is not valid JSON.")
            ) from None
        _check_json(data)
        return data


class NonFiniteNumber(ValueError):
    pass


def _not_finite(constant: str):
    raise NonFiniteNumber(constant)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 overflows to infinity
        raise NonFiniteNumber(text)
    return number


def _check_json(data) -> None:
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ApiError(ErrorCode.BAD_REQUEST, _("The request body is nested too deeply."))
        if isinstance(value, str):
            if has_unstorable_text(value):
                raise ApiError(ErrorCode.BAD_REQUEST, _("The request contains invalid characters."))
        elif isinstance(value, dict):
            stack.extend((k, depth + 1) for k in value)
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def not_found(request, exception=None):
    """`handler404`: API paths that match no operation answer in the API's error shape."""
    if request.path.startswith("/api/"):
        return error_response(ErrorCode.NOT_FOUND)
    return page_not_found(request, exception)


def _error_schema_ref() -> dict:
    return {"$ref": "#/components/schemas/ErrorOut"}


def document_errors(schema: dict) -> dict:
    """List the error body under every client-error status for every operation (a client may be
    refused before the operation runs: malformed input, sign-in, rate limits), and 414, which the
    web server answers for an over-long request line."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in (
        ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        .pop("$defs", {})
        .items()
    ):
        components[name] = definition
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    error_schema.pop("$defs", None)
    components["ErrorOut"] = error_schema
    content = {"application/json": {"schema": _error_schema_ref()}}
    descriptions = {
        400: "Malformed request (unparseable body, NUL or invalid characters)",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        409: "Conflicts with the current state",
        413: "Request too large",
        422: "Invalid input",
        429: "Too many requests",
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in descriptions.items():
                responses.setdefault(status, {"description": description, "content": content})
            # Answered by the web server (gunicorn, a proxy) before the platform sees the request:
            # its body is theirs, not the error shape.
            responses.setdefault(
                414, {"description": "Request line too long (from the web server)"}
            )
    return schema
