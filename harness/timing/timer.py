"""The timer contract the measurement loop drives (:func:`harness.timing.measure.measure`,
A/B's blocks): ``sample`` is the one thing a timer must do; the other hooks default to
"nothing to do" and the CUDA-event timer overrides them."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.timing.mode import ModeChoice


class Timer(abc.ABC):
    """Times calls of an inference step. Subclasses write :meth:`sample`."""

    #: Recorded as the measurement's timer (``host``, ``cuda-event``).
    name: str = ""
    #: Inferences behind one sample (batched timing divides a sample's time by them).
    runs_per_sample: int = 1
    #: Seconds each sample adds after the step, outside the warm-up: the host timer's
    #: injected delay (``--inject-delay``); A/B block sizes count it.
    inject_delay: float = 0.0
    #: Host time to enqueue one inference, ms, over the first iterations after each wait (the
    #: CUDA-event timer; A/B reads it for the enqueue-bound check). Empty where the host
    #: itself is what is timed.
    enqueue_ms: Sequence[float] = ()
    #: The timing mode this timer times in (:mod:`harness.timing.mode`); None until an
    #: auto mode is chosen.
    mode_choice: ModeChoice | None = None

    @abc.abstractmethod
    def sample(self, run: Callable[[], None], count: int) -> list[float]:
        """Time ``count`` samples of ``run``; seconds per inference, in order taken."""

    def prepare(self, run: Callable[[], None]) -> Callable[[], None]:
        """What the warm-up and the timed loop call instead of ``run`` (a CUDA graph's
        launch, the copies around it); default ``run`` itself. Called again when the engine
        re-places its buffers (A/B ``redraw``): a timer then releases what its previous
        ``prepare`` made before making it anew."""
        return run

    def warmup_step(self, run: Callable[[], None]) -> Callable[[], None]:
        """What one warm-up iteration calls (e.g. ``run`` then wait for the GPU)."""
        return run

    def choose_mode(self, run: Callable[[], None], warm_pace_ms: float,
                    given: ModeChoice | None = None) -> ModeChoice | None:
        """After the warm-up: settle an auto timing mode, ``given`` (another preparation's
        choice, which this one then takes) or probed on ``run``; the timer's mode is then
        fixed for good. Default: a timer with one mode, nothing to choose."""
        return self.mode_choice

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the timer holds (events, graphs, buffers)."""
