"""
Not part of Paperless: the tests' control API. It sets up users, groups, tokens and share
links as an admin would in Paperless, and hands out the request record. Every call needs
the X-Upstream-Control header with the secret the test harness started the server with.
"""

import datetime
import json
import os
from functools import wraps

from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.models import Session
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authtoken.models import Token

from guardian.shortcuts import assign_perm

from documents.models import Document, ShareLink
from paperless import chat, recorder
from paperless.serializers import GroupSerializer, UserSerializer
from paperless.views import send_status

SECRET = os.environ.get("UPSTREAM_CONTROL_SECRET", "")


def control(view):
    @csrf_exempt
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not SECRET or request.headers.get("X-Upstream-Control") != SECRET:
            return JsonResponse({"detail": "control API: wrong or missing secret"}, status=403)
        body = json.loads(request.body or b"{}") if request.method == "POST" else {}
        return view(request, body, *args, **kwargs)

    return guarded


def _user_json(user):
    data = dict(UserSerializer(user).data)
    data["inherited_permissions"] = sorted(data["inherited_permissions"])
    data["has_usable_password"] = user.has_usable_password()
    return data


def _permissions(codenames):
    found = list(Permission.objects.exclude(content_type__app_label="admin").filter(codename__in=codenames))
    missing = set(codenames) - {p.codename for p in found}
    if missing:
        raise ValueError(f"unknown permissions: {sorted(missing)}")
    return found


@control
def users(request, body):
    if request.method == "GET":
        return JsonResponse([_user_json(u) for u in User.objects.order_by("id")], safe=False)
    fields = {k: body[k] for k in ("email", "first_name", "last_name", "is_staff", "is_superuser", "is_active") if k in body}
    user = User.objects.create(username=body["username"], **fields)
    # Without a password the account is like one Paperless's header login made: password ''.
    if body.get("password"):
        user.set_password(body["password"])
    user.save()
    user.groups.set(Group.objects.filter(name__in=body.get("groups", [])))
    user.user_permissions.set(_permissions(body.get("user_permissions", [])))
    return JsonResponse(_user_json(user), status=201)


@control
def user(request, body, username):
    found = User.objects.filter(username=username).first()
    if found is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    return JsonResponse(_user_json(found))


@control
def groups(request, body):
    if request.method == "GET":
        return JsonResponse([dict(GroupSerializer(g).data) for g in Group.objects.order_by("id")], safe=False)
    group = Group.objects.create(name=body["name"])
    group.permissions.set(_permissions(body.get("permissions", [])))
    return JsonResponse(dict(GroupSerializer(group).data), status=201)


@control
def documents(request, body):
    """A document as an admin shares it in Paperless's permissions dialog: view for users and groups."""
    names = {"owner": [body["owner"]] if body.get("owner") else [], "viewUsers": body.get("viewUsers", [])}
    users = {n: User.objects.filter(username=n).first() for n in names["owner"] + names["viewUsers"]}
    groups = {n: Group.objects.filter(name=n).first() for n in body.get("viewGroups", [])}
    missing = [f"user {n}" for n, u in users.items() if u is None] + [f"group {n}" for n, g in groups.items() if g is None]
    if missing:
        return JsonResponse({"detail": f"no such {', '.join(missing)}: add them first"}, status=400)
    owner = users[body["owner"]] if body.get("owner") else None
    document = Document.objects.create(title=body["title"], owner=owner)
    for name in names["viewUsers"]:
        assign_perm("view_document", users[name], document)
    for group in groups.values():
        assign_perm("view_document", group, document)
    return JsonResponse({"id": document.id}, status=201)


@control
def token(request, body):
    user, _ = User.objects.get_or_create(username=body["username"])
    key, _ = Token.objects.get_or_create(user=user)
    return JsonResponse({"token": key.key})


@control
def share_links(request, body):
    expiration = timezone.now() - datetime.timedelta(days=1) if body.get("expired") else None
    ShareLink.objects.create(slug=body["slug"], expiration=expiration)
    return JsonResponse({"slug": body["slug"]}, status=201)


@control
def session(request, body, key):
    found = Session.objects.filter(session_key=key, expire_date__gt=timezone.now()).first()
    uid = found.get_decoded().get("_auth_user_id") if found else None
    owner = User.objects.filter(pk=uid).first() if uid else None
    return JsonResponse({"exists": found is not None, "user": owner.username if owner else None})


@control
def requests(request, body):
    if request.GET.get("next") is not None:
        return JsonResponse({"seq": recorder.next_seq()})
    return JsonResponse(recorder.since(int(request.GET.get("since", "0"))), safe=False)


@control
def uploads(request, body):
    return JsonResponse(recorder.UPLOADS, safe=False)


@control
def status(request, body):
    owner = User.objects.get(username=body["owner"])
    send_status(owner, body.get("status", "WORKING"), body.get("progress", 50), "test", "control", "control.pdf")
    return JsonResponse({"sent": True})


@control
def chat_release(request, body):
    chat.released["count"] = int(body.get("count", chat.released["count"] + 1))
    return JsonResponse({"released": chat.released["count"]})


urlpatterns = [
    path("chat/release/", chat_release),
    path("users/", users),
    path("users/<str:username>/", user),
    path("groups/", groups),
    path("documents/", documents),
    path("tokens/", token),
    path("share-links/", share_links),
    path("sessions/<str:key>/", session),
    path("requests/", requests),
    path("uploads/", uploads),
    path("status/", status),
]
