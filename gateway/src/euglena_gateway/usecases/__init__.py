"""Use-cases: what the gateway does, independent of HTTP and of concrete storage."""
