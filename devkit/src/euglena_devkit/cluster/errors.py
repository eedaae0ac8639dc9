"""Errors of the local control plane.

::

    RuntimeError
    └── ClusterError      the control plane could not be started, or one of its components died
        └── ToolsMissing  the binaries are not built for the pinned versions (make k8s-tools)
"""

from __future__ import annotations


class ClusterError(RuntimeError):
    """The control plane could not be started, or one of its components died."""


class ToolsMissing(ClusterError):
    """The binaries are not built for the pinned versions (``make k8s-tools``)."""
