from django.conf import settings

PAPERLESS_VERSION = "3.0.5" if settings.PAPERLESS_TEST_LINE == 3 else "2.20.15"


class ApiVersionMiddleware:
    """Paperless adds its API and app versions to every answer to a signed-in user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            versions = settings.REST_FRAMEWORK["ALLOWED_VERSIONS"]
            response["X-Api-Version"] = versions[len(versions) - 1]
            response["X-Version"] = PAPERLESS_VERSION
        return response
