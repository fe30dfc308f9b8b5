"""The API over HTTP: the gateway, the fast path, connexion's pipeline, handlers and faults."""
