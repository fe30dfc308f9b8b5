"""`make bench`: the mock's throughput, latency, start-up and memory, beside Stoplight Prism 5.

Not a test: CI does not run it. `run` puts the phases in order; `tools` installs wrk and Prism;
`phases` measures, through `servers` (processes), `seed` (state documents), `workloads` (what is
sent, and the right answer from each server) and `loadgen` (wrk and wrk.lua); `report` keeps the
medians and saves the JSON, `verdict` judges the targets and `render` prints the tables.
"""
