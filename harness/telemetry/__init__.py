"""GPU telemetry beside every measurement: an NVML sampler thread (:mod:`.nvml`), the pure
logic that reads its samples (:mod:`.analysis`: throttle flagging, clock settling, summary),
and the clock state read once per case (:mod:`.clocks`). Nothing here changes GPU settings.
Host-timed (CPU) cases record what competed for the CPU instead (:mod:`.host`)."""
