"""The validating proxy: live traffic to a real service, passed on and checked."""
