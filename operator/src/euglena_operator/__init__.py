"""Euglena operator: AgentTask lifecycle through the gateway and AgentPool queue-depth autoscaling.

Layers: ``handlers`` (kopf edge) → ``usecases`` → pure rules (``scaling``, ``mirroring``,
``conditions``) and adapters (``gateway``, ``kube``, ``queues``, and the core's Redis worker
presence), wired together only in ``wiring``.
"""
