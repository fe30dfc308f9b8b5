"""The control API (`/__mock`): its handlers, the request journal and fault injection."""
