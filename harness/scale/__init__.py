"""Scale-out: a scenario matrix split into shards (:mod:`~harness.scale.shard`), run on a Dask
cluster (:mod:`~harness.scale.dask_executor`), with what ran beside each case recorded
(:mod:`~harness.scale.interference`), and the parts merged again per platform
(:mod:`~harness.scale.merge`, :mod:`~harness.scale.platforms`)."""
