"""ASGI entry point: Django first, then the websocket route."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE", "loadtests.peers.django_channels.settings"
)
django_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from loadtests.peers.django_channels.consumers import FanoutConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_app,
        "websocket": URLRouter([path("ws", FanoutConsumer.as_asgi())]),
    }
)
