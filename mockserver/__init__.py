"""A stateful mock of the Rackspace Cloud Databases backups API, served from openapi.yaml."""

from mockserver.app import create_app
from mockserver.settings import Settings

__all__ = ["Settings", "create_app"]
