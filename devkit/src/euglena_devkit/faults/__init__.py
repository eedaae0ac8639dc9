"""Fault injection for the fault suite (``make faults``) and its fast versions in the tests.

- :mod:`.proxy`: :class:`TcpProxy`, a loopback proxy in front of a real server that can
  blackhole it (stop answering without closing) and restore it.
"""

from euglena_devkit.faults.proxy import TcpProxy

__all__ = ["TcpProxy"]
