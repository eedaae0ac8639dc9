"""The HTTP edge: parse, call one use-case, map the result."""
