"""paperless/consumers.py of Paperless-ngx 2.20.x: /ws/status/ and who may see a message."""

import json

from asgiref.sync import async_to_sync
from channels.exceptions import AcceptConnection, DenyConnection
from channels.generic.websocket import WebsocketConsumer

from paperless import recorder


class StatusConsumer(WebsocketConsumer):
    def _authenticated(self):
        return "user" in self.scope and self.scope["user"].is_authenticated

    def _can_view(self, data):
        user = self.scope.get("user")
        return (
            user.is_superuser
            or user.id == data.get("owner_id")
            or user.id in data.get("users_can_view", [])
            or user.groups.filter(pk__in=data.get("groups_can_view", [])).exists()
        )

    def _record(self, status):
        user = self.scope.get("user")
        headers = recorder.raw_headers(self.scope)
        from django.conf import settings

        recorder.add(
            {
                "method": "GET",
                "path": self.scope["path"],
                "url": recorder.raw_url(self.scope),
                "rawHeaders": headers,
                "remoteUser": recorder.meta_key(headers, settings.HTTP_REMOTE_USER_HEADER_NAME),
                "cookies": dict(self.scope.get("cookies", {})),
                "user": user.get_username() if user is not None and user.is_authenticated else None,
                "status": status,
            },
        )

    def connect(self):
        if not self._authenticated():
            self._record(403)
            raise DenyConnection
        self._record(101)
        async_to_sync(self.channel_layer.group_add)("status_updates", self.channel_name)
        raise AcceptConnection

    def disconnect(self, code):
        async_to_sync(self.channel_layer.group_discard)("status_updates", self.channel_name)

    def status_update(self, event):
        if not self._authenticated():
            self.close()
        elif self._can_view(event["data"]):
            self.send(json.dumps(event))

    def document_updated(self, event):
        # 3.x only: the message the UI reloads an open document on.
        if not self._authenticated():
            self.close()
        elif self._can_view(event["data"]):
            self.send(json.dumps(event))
