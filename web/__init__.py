"""The web app: HTTP intake for producers, the operator API and the dashboard pages."""

from web.app import create_app

__all__ = ["create_app"]
