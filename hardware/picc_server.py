"""The life cycle shared by simulators that serve one contactless card from a thread."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from types import TracebackType
from typing import TYPE_CHECKING, Self

from .card_model import CardModel

if TYPE_CHECKING:
    from .type_a_picc import TypeAPicc


class PiccServer(ABC):
    """Serves `self.picc` from a daemon thread: start()/stop() or use as a context manager."""

    picc: TypeAPicc

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    @abstractmethod
    def thread_name(self) -> str:
        """A name for the serving thread (shows in thread dumps and leak checks)."""

    @abstractmethod
    def serve_forever(self) -> None:
        """Answer the reader until `self._stop` is set."""

    @abstractmethod
    def _close(self) -> None:
        """Release the transport (socket, pty) once the thread has stopped."""

    def insert(self, card: CardModel | None = None) -> None:
        self.picc.insert(card)

    def remove(self) -> None:
        self.picc.remove()

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever, name=self.thread_name, daemon=True
            )
            self._thread.start()
        return self

    def request_stop(self) -> None:
        """Make serve_forever() return (safe from a signal handler)."""
        self._stop.set()

    def stop(self) -> None:
        """Stop answering, release the transport and power the card down. Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10.0)
        self._thread = None
        self._close()
        self.picc.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
