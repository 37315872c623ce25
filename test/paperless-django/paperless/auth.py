"""paperless/auth.py of Paperless-ngx 2.20.x: the header login."""

from django.conf import settings
from django.contrib.auth.middleware import PersistentRemoteUserMiddleware
from rest_framework import authentication


class HttpRemoteUserMiddleware(PersistentRemoteUserMiddleware):
    """Header login for the web UI; for /api/ too only when the API mode adds its DRF class."""

    header = settings.HTTP_REMOTE_USER_HEADER_NAME

    def __call__(self, request):
        if (
            "/api/" in request.path
            and "paperless.auth.PaperlessRemoteUserAuthentication"
            not in settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
        ):
            return self.get_response(request)
        return super().__call__(request)


class PaperlessRemoteUserAuthentication(authentication.RemoteUserAuthentication):
    """REMOTE_USER authentication for DRF which overrides the default header."""

    header = settings.HTTP_REMOTE_USER_HEADER_NAME
