"""API routes for abundance tables: upload, compositions, feature tables, diversity."""
