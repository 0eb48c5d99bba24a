"""The vaxdsl benchmark: ``python -m benchmarks`` (``make bench``); see docs/performance.md."""
