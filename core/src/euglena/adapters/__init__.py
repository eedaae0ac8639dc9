"""Adapters shared by more than one service. Imported only by composition roots."""
