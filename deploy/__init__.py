"""Deployment and local-run tooling (not shipped in the Lambda zip)."""
