"""Tools the agent can use: web search, page visits, and the dispatcher over them."""
