"""Errors the endpoint returns, as HTTP status plus a Databricks-style JSON body.

Every rejected request gets ``{"error_code": ..., "message": ...}``. The codes follow
the names Databricks REST APIs use (``BAD_REQUEST``, ``INVALID_PARAMETER_VALUE``,
``RESOURCE_DOES_NOT_EXIST`` ...), so clients written for Model Serving handle them
unchanged.
"""

from __future__ import annotations

from typing import Any

# error_code -> HTTP status. One place, so the table in the package docs and the
# tests read from the same source.
ERROR_STATUS: dict[str, int] = {
    "MALFORMED_REQUEST": 400,
    "BAD_REQUEST": 400,
    "INVALID_PARAMETER_VALUE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "METHOD_NOT_ALLOWED": 405,
    "REQUEST_TIMEOUT": 408,
    "MAX_REQUEST_SIZE_EXCEEDED": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "INTERNAL_ERROR": 500,
    "TEMPORARILY_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


class ApiError(Exception):
    """A request failure that maps to one HTTP status and error code."""

    def __init__(self, error_code: str, message: str) -> None:
        if error_code not in ERROR_STATUS:
            raise ValueError(f"unknown error code {error_code!r}; add it to ERROR_STATUS")
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    @property
    def status_code(self) -> int:
        return ERROR_STATUS[self.error_code]

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message}
