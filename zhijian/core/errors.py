"""One error type for business rules; views and the API turn it into a clean message."""
from __future__ import annotations


class ApplicationError(Exception):
    """A business rule refused the request. ``message`` is shown to the user."""

    status = 400

    def __init__(self, message, *, code: str = "invalid", extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}


class OutOfScope(ApplicationError):
    status = 404

    def __init__(self, message="不存在或不在您的辖区内"):
        super().__init__(message, code="not_found")
