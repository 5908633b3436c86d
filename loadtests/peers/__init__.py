"""The servers the hub is measured against, each written with its documented API.

Every peer runs as one process and fans out through the same Redis as the
hub. They speak the frames of `loadtests.protocols`: ``plain`` for the
baseline and Django Channels, Socket.IO for python-socketio and Node.
"""
