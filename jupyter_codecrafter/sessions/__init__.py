"""Sessions: the session service and the one permission function."""
