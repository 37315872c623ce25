"""The views of Paperless-ngx 2.20.x that the gateway meets, with Paperless's permission rules."""

import re
import uuid
from collections import OrderedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db.models.functions import Lower
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.utils import timezone
from django.views.generic import TemplateView, View
from django_filters.rest_framework import DjangoFilterBackend, FilterSet
from rest_framework import parsers
from rest_framework.filters import OrderingFilter
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.response import Response
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.viewsets import ModelViewSet, ReadOnlyModelViewSet

from documents.models import Document, ShareLink, UiSettings
from documents.permissions import get_objects_for_user_owner_aware
from paperless import recorder
from paperless.serializers import DocumentSerializer, GroupSerializer, ProfileSerializer, UserSerializer


class PaperlessModelPermissions(DjangoModelPermissions):
    """Paperless asks for view_* on reads too, which DRF's class leaves open."""

    perms_map = {
        "OPTIONS": [],
        "HEAD": [],
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }


class StandardPagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100000

    def get_paginated_response(self, data):
        return Response(
            OrderedDict(
                [
                    ("count", self.page.paginator.count),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("all", [obj.pk for obj in self.page.paginator.object_list]),
                    ("results", data),
                ],
            ),
        )


LOOKUPS = ["istartswith", "iendswith", "icontains", "iexact"]


class UserFilterSet(FilterSet):
    class Meta:
        model = User
        fields = {"username": LOOKUPS}


class GroupFilterSet(FilterSet):
    class Meta:
        model = Group
        fields = {"name": LOOKUPS}


def _privileged_change(request, target=None):
    if request.user.is_superuser:
        return False
    if target is not None and target.is_superuser:
        return True
    return request.data.get("is_superuser") is not None or request.data.get("is_staff") is not None


class UserViewSet(ModelViewSet):
    model = User
    queryset = User.objects.exclude(username__in=["consumer", "AnonymousUser"]).order_by(Lower("username"))
    serializer_class = UserSerializer
    pagination_class = StandardPagination
    permission_classes = (IsAuthenticated, PaperlessModelPermissions)
    filter_backends = (DjangoFilterBackend, OrderingFilter)
    filterset_class = UserFilterSet
    ordering_fields = ("username",)

    def create(self, request, *args, **kwargs):
        if _privileged_change(request):
            return HttpResponseForbidden("Superuser status can only be changed by a superuser")
        return super().create(request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        if _privileged_change(request, self.get_object()):
            return HttpResponseForbidden("Superuser status can only be changed by a superuser")
        return super().update(request, *args, **kwargs)


class GroupViewSet(ModelViewSet):
    model = Group
    queryset = Group.objects.order_by(Lower("name"))
    serializer_class = GroupSerializer
    pagination_class = StandardPagination
    permission_classes = (IsAuthenticated, PaperlessModelPermissions)
    filter_backends = (DjangoFilterBackend, OrderingFilter)
    filterset_class = GroupFilterSet
    ordering_fields = ("name",)


class DocumentViewSet(ReadOnlyModelViewSet):
    """
    The document list and a document, each filtered as Paperless filters them (owner-aware object
    permissions, documents/permissions.py); a document the user may not see is a 404. Newest first,
    as Paperless orders by creation date. Changes: only the title, by its owner or a superuser.
    """

    model = Document
    queryset = Document.objects.none()
    serializer_class = DocumentSerializer
    pagination_class = StandardPagination
    permission_classes = (IsAuthenticated, PaperlessModelPermissions)

    def get_queryset(self):
        return get_objects_for_user_owner_aware(self.request.user, "documents.view_document", Document).distinct().order_by("-id")

    def partial_update(self, request, pk=None, *args, **kwargs):
        document = Document.objects.filter(pk=pk).first()
        if document is None or not (request.user.is_superuser or document.owner_id == request.user.id):
            return Response({"detail": "No Document matches the given query."}, status=404)
        if "title" in request.data:
            document.title = str(request.data["title"])
            document.save()
        if settings.PAPERLESS_TEST_LINE == 3:
            # 3.x tells every viewer's /ws/status/ that the document changed.
            send_document_updated(document)
        return Response({"id": document.id, "title": document.title, "owner": document.owner_id})


class UiSettingsView(GenericAPIView):
    queryset = UiSettings.objects.all()
    permission_classes = (IsAuthenticated, PaperlessModelPermissions)

    def get(self, request, format=None):
        user = User.objects.get(pk=request.user.id)
        ui_settings = user.ui_settings.settings if hasattr(user, "ui_settings") else {}
        user_resp = {
            "id": user.id,
            "username": user.username,
            "is_staff": user.is_staff,
            "is_superuser": user.is_superuser,
            "groups": list(user.groups.values_list("id", flat=True)),
        }
        if user.first_name:
            user_resp["first_name"] = user.first_name
        if user.last_name:
            user_resp["last_name"] = user.last_name
        roles = [re.sub(r"^\w+.", "", perm) for perm in user.get_all_permissions()]
        return Response({"user": user_resp, "settings": ui_settings or {}, "permissions": roles})


class ProfileView(GenericAPIView):
    permission_classes = (IsAuthenticated,)
    serializer_class = ProfileSerializer

    def get(self, request, *args, **kwargs):
        return Response(self.get_serializer(request.user).data)


class ThrottledObtainAuthToken(ObtainAuthToken):
    """3.x's /api/token/: five tries a minute per client address (PAPERLESS_TOKEN_THROTTLE_RATE)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


class GenerateAuthTokenView(GenericAPIView):
    permission_classes = (IsAuthenticated,)

    def post(self, request, *args, **kwargs):
        Token.objects.filter(user=request.user).delete()
        token = Token.objects.create(user=request.user)
        return Response(token.key)


def send_status(user, status, progress, message, task_id, filename, document_id=None):
    async_to_sync(get_channel_layer().group_send)(
        "status_updates",
        {
            "type": "status_update",
            "data": {
                "filename": filename,
                "task_id": task_id,
                "current_progress": progress,
                "max_progress": 100,
                "status": status,
                "message": message,
                "document_id": document_id,
                "owner_id": user.id,
                "users_can_view": [],
                "groups_can_view": [],
            },
        },
    )


def send_document_updated(document):
    async_to_sync(get_channel_layer().group_send)(
        "status_updates",
        {
            "type": "document_updated",
            "data": {
                "document_id": document.id,
                "modified": timezone.now().isoformat(),
                "owner_id": document.owner_id,
                "users_can_view": [],
                "groups_can_view": [],
            },
        },
    )


class PostDocumentView(GenericAPIView):
    permission_classes = (IsAuthenticated,)
    parser_classes = (parsers.MultiPartParser,)

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("documents.add_document"):
            return Response({"detail": "You do not have permission to perform this action."}, status=403)
        upload = request.data.get("document")
        if upload is None:
            return Response({"document": ["No file was submitted."]}, status=400)
        size = sum(len(chunk) for chunk in upload.chunks())
        recorder.UPLOADS.append({"user": request.user.username, "bytes": size})
        task_id = str(uuid.uuid4())
        # Paperless's consumer reports these from Celery; here the upload itself does.
        send_status(request.user, "STARTED", 0, "new_file", task_id, upload.name)
        send_status(request.user, "WORKING", 50, "parsing_document", task_id, upload.name)
        document = Document.objects.create(title=upload.name, owner=request.user, size=size)
        send_status(request.user, "SUCCESS", 100, "finished", task_id, upload.name, document.id)
        return Response(task_id)


class SharedLinkView(View):
    authentication_classes = []
    permission_classes = []

    def get(self, request, slug):
        share_link = ShareLink.objects.filter(slug=slug).first()
        if share_link is None:
            return HttpResponseRedirect("/accounts/login/?sharelink_notfound=1")
        if share_link.expiration is not None and share_link.expiration < timezone.now():
            return HttpResponseRedirect("/accounts/login/?sharelink_expired=1")
        return HttpResponse(f"shared document {slug}", content_type="text/plain")


class IndexView(TemplateView):
    """The Angular UI's index; here a page that says who Paperless thinks you are."""

    template_name = "index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["groups"] = list(user.groups.order_by("name").values_list("name", flat=True))
        # A superuser holds every permission; listing them all would hide what matters.
        context["permissions"] = ["all (superuser)"] if user.is_superuser else sorted(user.get_all_permissions())
        context["csrf_cookie_name"] = settings.CSRF_COOKIE_NAME
        return context
