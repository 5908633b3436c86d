"""The floor of the hub: named topics, local fan-out, Redis pub/sub and streams.

Nothing here knows about caretakers or tickets. Words used throughout:

- *topic*: the name of one Redis pub/sub channel (and, for durable topics, of
  one Redis stream) without the key prefix, e.g. ``district:noord/public``.
  The client-facing *channel* a connection subscribes to (``district:noord``)
  is resolved to a topic by the layer above, per user: a tenant and an agent
  subscribing to the same district channel listen on different topics, since
  they may see different precision.
- *publish*: send through Redis to every hub process.
- *broadcast*: hand one prepared frame to this process's local subscribers.
- *position*: the id of an event on a topic, ``"<ms>-<seq>"`` as Redis stream
  ids; ordered, and the point a client resumes from.
"""
