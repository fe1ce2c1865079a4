"""Workspace calls with retries on transient errors, and errors that name the fix.

databricks-sdk 0.60 retries HTTP 429 and 503 by itself (honouring ``Retry-After``)
but logs those retries only at DEBUG, and raises 500 and 504 responses at once.
``call`` retries 500, 503 and 504 with exponential backoff, and
``surface_sdk_retries`` re-logs the SDK's own retries as warnings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from databricks.sdk.errors import (
    DatabricksError,
    DeadlineExceeded,
    InternalError,
    NotFound,
    PermissionDenied,
    TemporarilyUnavailable,
    TooManyRequests,
    Unauthenticated,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_ERRORS = (InternalError, TemporarilyUnavailable, DeadlineExceeded, TooManyRequests)
SDK_RETRY_LOGGER = "databricks.sdk.retries"


class DatabricksPlatformError(RuntimeError):
    """Raised when a workspace call fails in a way a retry cannot fix."""


class DatabricksPermissionError(DatabricksPlatformError):
    """Raised on HTTP 403: the principal lacks a privilege on an object."""

    def __init__(self, *, principal: str, privilege: str, target: str, detail: str) -> None:
        super().__init__(
            f"{principal} lacks {privilege} on {target} (HTTP 403 PERMISSION_DENIED: {detail}); "
            f"ask an owner of {target} or a workspace admin to grant it"
        )
        self.principal = principal
        self.privilege = privilege
        self.target = target


class DatabricksNotFoundError(DatabricksPlatformError, LookupError):
    """Raised on HTTP 404 for an object the caller needs."""

    def __init__(self, *, target: str, detail: str, hint: str = "") -> None:
        message = f"{target} was not found in the workspace (HTTP 404: {detail})"
        super().__init__(f"{message}; {hint}" if hint else message)
        self.target = target


class DatabricksUnavailableError(DatabricksPlatformError):
    """Raised when a call still fails with 429 or 5xx after every retry."""


class _SdkRetryForwarder(logging.Handler):
    """Re-logs the SDK's DEBUG "Retrying: ..." records as warnings of this module."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Retrying"):
            log.warning("databricks-sdk %s", message[0].lower() + message[1:])


def surface_sdk_retries() -> None:
    """Make the SDK's built-in retries (HTTP 429, 503) visible at WARNING; idempotent."""
    sdk_logger = logging.getLogger(SDK_RETRY_LOGGER)
    if any(isinstance(h, _SdkRetryForwarder) for h in sdk_logger.handlers):
        return
    sdk_logger.addHandler(_SdkRetryForwarder(level=logging.DEBUG))
    if sdk_logger.getEffectiveLevel() > logging.DEBUG:
        sdk_logger.setLevel(logging.DEBUG)


def status_of(error: DatabricksError) -> int:
    """Return the HTTP status an SDK error class stands for; 400 when the class does not tell."""
    for kind, status in (
        (PermissionDenied, 403),
        (NotFound, 404),
        (Unauthenticated, 401),
        (TooManyRequests, 429),
        (TemporarilyUnavailable, 503),
        (DeadlineExceeded, 504),
    ):
        if isinstance(error, kind):
            return status
    if isinstance(error, InternalError):
        return 500
    return 400


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def call(
    operation: Callable[..., T],
    *args: Any,
    target: str,
    privilege: str,
    principal: Callable[[], str] | None = None,
    attempts: int = 5,
    backoff_seconds: float = 1.0,
    not_found_hint: str = "",
    pass_not_found: bool = False,
    **kwargs: Any,
) -> T:
    """Run one SDK operation, retrying transient failures and translating the rest.

    ``target`` names the object (``table mlops_dev.house_prices.x``) and ``privilege``
    what the operation needs on it, so a 403 error names the principal, the privilege and
    the object.
    ``NotFound`` becomes ``DatabricksNotFoundError`` unless ``pass_not_found`` is set,
    for callers that treat a missing object as a normal case.
    """
    for attempt in range(1, attempts + 1):
        try:
            return operation(*args, **kwargs)
        except PermissionDenied as error:
            who = _principal(principal)
            raise DatabricksPermissionError(
                principal=who, privilege=privilege, target=target, detail=first_line(error)
            ) from error
        except Unauthenticated as error:
            raise DatabricksPlatformError(
                f"{target}: the workspace rejected the credentials (HTTP 401: "
                f"{first_line(error)}); check DATABRICKS_HOST and DATABRICKS_TOKEN, the "
                "OAuth client or the config profile"
            ) from error
        except NotFound as error:
            if pass_not_found:
                raise
            raise DatabricksNotFoundError(
                target=target, detail=first_line(error), hint=not_found_hint
            ) from error
        except TRANSIENT_ERRORS as error:
            if attempt == attempts:
                raise DatabricksUnavailableError(
                    f"{target}: HTTP {status_of(error)} after {attempts} attempts: "
                    f"{first_line(error)}; try again later"
                ) from error
            delay = backoff_seconds * 2 ** (attempt - 1)
            log.warning(
                "Retrying %s on %s after HTTP %d (attempt %d of %d, waiting %.1f s): %s",
                getattr(operation, "__name__", "call"),
                target,
                status_of(error),
                attempt,
                attempts,
                delay,
                first_line(error),
            )
            time.sleep(delay)
        except TimeoutError as error:
            # The SDK raises TimeoutError when its own 429/503 retries exceed retry_timeout_seconds.
            raise DatabricksUnavailableError(
                f"{target}: still rate limited or unavailable after the SDK's retries "
                f"({first_line(error)}); raise retry_timeout_seconds or try again later"
            ) from error
    raise AssertionError("unreachable")


def _principal(principal: Callable[[], str] | None) -> str:
    if principal is None:
        return "the configured principal"
    try:
        return principal()
    except DatabricksError as error:
        log.warning("Could not look up the current principal: %s", first_line(error))
        return "the configured principal"
