"""A small name → factory registry shared by models, metrics and methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from defocus.errors import DefocusError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories so that objects can be created from the CLI and configs.

    Args:
        kind: What the registry holds ("model", "metric", ...), used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory`` under ``name``.

        Args:
            name: Lower-case public name; must be unique within the registry.

        Returns:
            A decorator that registers and returns the factory unchanged.
        """

        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            return factory

        return decorator

    def create(self, name: str, **kwargs: object) -> T:
        """Build the object registered as ``name``.

        Raises:
            DefocusError: If no such name is registered (the message lists the known names).
        """
        try:
            factory = self._factories[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise DefocusError(f"unknown {self.kind} {name!r} (known: {known})") from None
        return factory(**kwargs)

    def get(self, name: str) -> Callable[..., T]:
        """Return the factory registered as ``name`` without calling it."""
        if name not in self._factories:
            self.create(name)  # raises the uniform error
        return self._factories[name]

    def names(self) -> list[str]:
        """Sorted list of registered names."""
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories
