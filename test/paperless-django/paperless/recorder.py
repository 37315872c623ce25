"""
Not part of Paperless: a record of every request as Django parsed it (path, META key,
cookies, the user it authenticated as), read by the tests through the control API.
"""

import itertools
import threading

from django.conf import settings

_lock = threading.Lock()
_counter = itertools.count()
REQUESTS: list[dict] = []
UPLOADS: list[dict] = []
LIMIT = 20000


def raw_headers(scope) -> list[list[str]]:
    return [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope.get("headers", [])]


def raw_url(scope) -> str:
    path = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string", b"")
    return path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


def meta_key(headers: list[list[str]], key: str):
    """What request.META[key] holds: Django joins every header that maps to the key with ','."""
    values = [v for k, v in headers if "HTTP_" + k.upper().replace("-", "_") == key]
    return ",".join(values) if values else None


def add(record: dict) -> dict:
    with _lock:
        record["seq"] = next(_counter)
        REQUESTS.append(record)
        del REQUESTS[:-LIMIT]
    return record


def since(seq: int) -> list[dict]:
    with _lock:
        return [r for r in REQUESTS if r["seq"] >= seq]


def next_seq() -> int:
    with _lock:
        return REQUESTS[-1]["seq"] + 1 if REQUESTS else 0


class RecordingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/__upstream__/"):
            return self.get_response(request)
        scope = getattr(request, "scope", {})
        headers = raw_headers(scope)
        record = add(
            {
                "method": request.method,
                "path": request.path,
                "url": raw_url(scope),
                "rawHeaders": headers,
                "remoteUser": request.META.get(settings.HTTP_REMOTE_USER_HEADER_NAME),
                "cookies": dict(request.COOKIES),
                "user": None,
                "status": None,
            },
        )
        response = self.get_response(request)
        user = getattr(request, "user", None)
        record["user"] = user.get_username() if user is not None and user.is_authenticated else None
        record["status"] = response.status_code
        return response
