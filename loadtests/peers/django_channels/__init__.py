"""Django Channels with channels_redis: a consumer per connection, groups as channels.

Run: ``uvicorn loadtests.peers.django_channels.asgi:application`` with
``DJANGO_SETTINGS_MODULE=loadtests.peers.django_channels.settings`` and
``BENCH_REDIS_URL`` set.
"""
