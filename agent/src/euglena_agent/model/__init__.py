"""Chat-model adapters: an OpenAI-compatible HTTP client and the offline stand-in."""
