"""Collaborative rooms: one Y document per session, y-websocket protocol, replication."""
