"""Timers and the measurement loop. Measuring is kept apart from deciding: the loop takes
samples, a :class:`~harness.timing.stopping.StoppingCriterion` decides when to stop."""
