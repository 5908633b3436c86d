"""The websocket endpoint: handshake, authentication, frames, subscriptions."""
