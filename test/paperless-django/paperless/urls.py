"""paperless/urls.py of Paperless-ngx 2.20.x, for the routes the gateway meets."""

from allauth.account.views import LogoutView as AllauthLogoutView
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework.authtoken import views as token_views
from rest_framework.routers import DefaultRouter

from django.conf import settings

from paperless import control
from paperless.chat import ChatStreamView
from paperless.consumers import StatusConsumer
from paperless.views import (
    DocumentViewSet,
    GenerateAuthTokenView,
    GroupViewSet,
    IndexView,
    PostDocumentView,
    ProfileView,
    SharedLinkView,
    ThrottledObtainAuthToken,
    UiSettingsView,
    UserViewSet,
)

api_router = DefaultRouter()
api_router.register(r"documents", DocumentViewSet, basename="documents")
api_router.register(r"users", UserViewSet, basename="users")
api_router.register(r"groups", GroupViewSet, basename="groups")

urlpatterns = [
    # Not Paperless's: the tests' control API (data set-up and the request record).
    path("__upstream__/", include(control.urlpatterns)),
    *([path("api/auth/headless/", include("allauth.headless.urls"))] if settings.PAPERLESS_TEST_LINE == 3 else []),
    re_path(
        r"^api/",
        include(
            [
                # Both releases answer /api/auth/logout/ with allauth's logout (ACCOUNT_LOGOUT_ON_GET:
                # GET and HEAD sign out too), not DRF's POST-only one (paperless-contract.md §9).
                path("auth/logout/", AllauthLogoutView.as_view()),
                re_path(r"^auth/", include(("rest_framework.urls", "rest_framework"), namespace="rest_framework")),
                re_path(r"^documents/post_document/", PostDocumentView.as_view(), name="post_document"),
                *([path("documents/chat/", ChatStreamView.as_view())] if settings.PAPERLESS_TEST_LINE == 3 else []),
                re_path(r"^ui_settings/", UiSettingsView.as_view(), name="ui_settings"),
                path("token/", ThrottledObtainAuthToken.as_view() if settings.PAPERLESS_TEST_LINE == 3 else token_views.obtain_auth_token),
                re_path(
                    "^profile/",
                    include(
                        [
                            path("generate_auth_token/", GenerateAuthTokenView.as_view()),
                            path("", ProfileView.as_view(), name="profile_view"),
                        ],
                    ),
                ),
                *api_router.urls,
            ],
        ),
    ),
    re_path(r"admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    re_path(r"share/(?P<slug>\w+)/?$", SharedLinkView.as_view()),
    # The frontend: every other path is the Angular index, for signed-in users only.
    re_path(r".*", login_required(ensure_csrf_cookie(IndexView.as_view())), name="base"),
]

websocket_urlpatterns = [path("ws/status/", StatusConsumer.as_asgi())]
