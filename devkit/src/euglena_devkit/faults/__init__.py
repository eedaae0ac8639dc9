"""Fault injection for the fault suite (``make faults``) and its fast versions in the tests.

- :mod:`.proxy`: :class:`TcpProxy`, a loopback proxy in front of a real server that can
  blackhole it (stop answering without closing) and restore it.
- :mod:`.platform`: :class:`~.platform.FaultPlatform`, the services behind proxies, the
  gateway and agent workers as real processes, tasks submitted over HTTP.
- :mod:`.scenarios`: R1 (SIGKILLed workers), R2 (restarts), R2b (blackholes), R3
  (scale-down), R9 (soak); :mod:`.schema`: R4 (schemathesis); :mod:`.security`: R5 (forged
  tokens), R6 (cross-user reads). Each returns :class:`~.figures.Figures`.
"""

from euglena_devkit.faults.proxy import TcpProxy

__all__ = ["TcpProxy"]
