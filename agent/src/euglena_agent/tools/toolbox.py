"""Runs one action's tool and turns the outcome, good or bad, into an observation text."""

from __future__ import annotations

import logging

from euglena_agent.actions import Action, ActionName
from euglena_agent.errors import ToolError
from euglena_agent.ports import PageFetcher, SearchEngine
from euglena_agent.tools.search import format_hits

log = logging.getLogger(__name__)


class Toolbox:
    def __init__(self, *, search: SearchEngine | None, visitor: PageFetcher) -> None:
        self._search = search
        self._visitor = visitor

    @property
    def can_search(self) -> bool:
        return self._search is not None

    async def run(self, action: Action) -> str:
        """The observation for ``action`` (search, visit or think); tool errors become text."""
        try:
            return await self._run(action)
        except ToolError as exc:
            log.info("tool %s failed: %s", action.name.value, exc)
            return f"Error: {exc}"

    async def _run(self, action: Action) -> str:
        if action.name is ActionName.SEARCH:
            if self._search is None:
                raise ToolError("search is not configured (SEARCH_API_URL is unset)")
            return format_hits(await self._search.search(action.argument))
        if action.name is ActionName.VISIT:
            text = await self._visitor.fetch_text(action.argument)
            return f"Page {action.argument}:\n{text}" if text else "The page has no text."
        if action.name is ActionName.THINK:
            return f"Thought: {action.argument}"
        raise ToolError(f"{action.name.value} is not a tool")
