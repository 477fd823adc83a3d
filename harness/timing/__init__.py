"""Timers, the measurement loop and the measuring session that drives them
(:mod:`harness.timing.session`). Measuring is kept apart from deciding: the loop takes
samples, a :class:`~harness.timing.stopping.StoppingCriterion` decides when to stop."""
