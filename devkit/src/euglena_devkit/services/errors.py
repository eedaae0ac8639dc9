"""Errors of the local services.

::

    RuntimeError
    └── ServiceError              base of the devkit's service errors
        ├── ServiceUnavailable    a server binary is not installed
        ├── ServiceStartError     a server did not become ready (carries its log tail)
        └── SqlError              a SQL file or statement failed
"""

from __future__ import annotations


class ServiceError(RuntimeError):
    """Base of the devkit's service errors."""


class ServiceUnavailable(ServiceError):
    """A server binary is not installed."""


class ServiceStartError(ServiceError):
    """A server did not become ready; the message carries the tail of its log."""


class SqlError(ServiceError):
    """A SQL file or statement failed."""
