"""
Paperless 3.x's document chat answers as a stream of server-sent events. Here each event waits
until the test releases it (control API: chat/release/), so a test can tell an event the proxy
passed on at once from one it held back.
"""

import asyncio
import json

from django.conf import settings
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated

EVENTS = 3
# How many events the test has released so far (set from the control API's thread).
released = {"count": 0}


async def _events():
    for n in range(1, EVENTS + 1):
        while released["count"] < n:
            await asyncio.sleep(0.02)
        yield f"data: {json.dumps({'event': n, 'text': f'part {n}'})}\n\n"


class ChatStreamView(GenericAPIView):
    permission_classes = (IsAuthenticated,)

    def post(self, request, *args, **kwargs):
        if not settings.AI_ENABLED:
            return HttpResponseBadRequest("AI is required for this feature")
        response = StreamingHttpResponse(_events(), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        return response
