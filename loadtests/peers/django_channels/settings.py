"""The least Django needs to serve one Channels consumer."""

import os

SECRET_KEY = "loadtest-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
ASGI_APPLICATION = "loadtests.peers.django_channels.asgi.application"
USE_TZ = True

# The documented Redis layer. Its default capacity (100 messages per channel)
# drops group messages under load without a word; 1,000 keeps the
# comparison about speed rather than about that default.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [os.environ["BENCH_REDIS_URL"]],
            "prefix": "bench-channels:",
            "capacity": 1000,
        },
    }
}
