"""Business rules as plain typed functions: they flush, never commit, and know nothing of HTTP."""
