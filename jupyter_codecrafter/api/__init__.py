"""The HTTP and WebSocket API: handlers parse, authorize, call a service and serialize."""
