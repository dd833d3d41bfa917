"""Collaborative rooms: one Y document per session, y-websocket protocol, replication.

- ``manager``: :class:`RoomManager` (connect, edit, set_role, close_room, stats) and
  :class:`RoomClient`; the entry points for the WebSocket handler and the services.
- ``room``: one loaded room: its document, connections, and where each change goes.
- ``protocol``: the y-websocket wire format and our control message (type 10), close codes.
- ``channel``: one connection's role and bounded send queue.
- ``awareness``: presence and cursors, with server-set identity and owned client ids.
- ``persistence``: appending to the store and compacting without losing updates.
- ``replication``: the bus envelope, publishing, and the periodic state-vector re-sync.
- ``yupdates``: reading state vectors and delete sets without applying updates.
- ``documents`` / ``notebook``: jupyter-ydoc documents, first state, output helpers.

Nothing here imports tornado; the handler in ``api/`` adapts its socket to ``Connection``.
"""
