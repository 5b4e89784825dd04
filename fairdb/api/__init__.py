"""The JSON API v1 (blueprint `api`): routes by topic, plumbing in core.py."""
