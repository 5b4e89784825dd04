"""The home page and the operator's health check."""
