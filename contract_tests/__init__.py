"""Contract tests for the backups API."""
