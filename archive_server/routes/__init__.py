"""The archive's HTTP and WebSocket routes, one router per concern (included by ``create_app``)."""
