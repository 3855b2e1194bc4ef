"""Small helpers to extend moto in place: reroute a service's URLs, wrap a backend method."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any


def route(urls: ModuleType, response_class: type, new_paths: tuple[str, ...] = ()) -> None:
    """Send a moto service's paths, and ``new_paths``, to ``response_class``.

    Must run before the server builds the service's app: moto reads ``url_paths`` then.
    """
    for path, handler in list(urls.url_paths.items()):
        if getattr(handler, "__name__", "") == "dispatch":
            urls.url_paths[path] = response_class.dispatch
    for path in new_paths:
        urls.url_paths[path] = response_class.dispatch


def wrap(cls: type, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Replace ``cls.name`` by the decorated function, which receives the original first."""

    def decorate(replacement: Callable[..., Any]) -> Callable[..., Any]:
        original = getattr(cls, name)

        @functools.wraps(original)
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return replacement(original, self, *args, **kwargs)

        setattr(cls, name, method)
        return replacement

    return decorate
