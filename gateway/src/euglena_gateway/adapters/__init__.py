"""Concrete adapters; imported only by the composition root (``app``)."""
