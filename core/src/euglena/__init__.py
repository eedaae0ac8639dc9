"""Euglena shared core.

Inert by design: the task model, status rules, Redis key names, the AMQP message schema,
settings building blocks and the ports (Protocols) that services implement. It imports no
web, operator or AMQP framework and performs no I/O at import time.
"""

__version__ = "0.1.0"
