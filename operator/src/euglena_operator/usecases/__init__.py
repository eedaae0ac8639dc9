"""Use-cases: what the operator does, independent of kopf (handlers call these).

They depend on :mod:`euglena_operator.ports` only, never on a concrete adapter.
"""
