"""A stateful mock of the Rackspace Cloud Databases backups API, served from openapi.yaml."""

import warnings

with warnings.catch_warnings():
    # connexion 3.3 imports jsonschema's RefResolver and RefResolutionError, deprecated since
    # jsonschema 4.18. pytest imports this package (for the plugin in pytest_plugin.py) in every
    # session of an environment where it is installed: a consumer's `filterwarnings = error`
    # must not fail on a warning of our dependency.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"connexion\.")
    from mockserver.app import create_app
    from mockserver.settings import Settings

__all__ = ["Settings", "create_app"]
