"""`make bench`: the mock's throughput, latency, start-up and memory, beside Stoplight Prism 5.

Not a test: CI does not run it. `run` puts the phases in order (`--only` picks some); `tools`
installs wrk and Prism; `phases` measures start-up and throughput, `ceiling` ours beside a bare
uvicorn app (`bare`) replaying its answer, `scaling` the list and memory as the account grows,
and `proxy` the validating proxy against the mock it fronts, through `servers` (processes),
`seed` (state documents, and backups made through the API), `workloads` (what is sent, and the
right answer from each server), `loadgen` (wrk and wrk.lua) and `cpus` (which CPUs wrk and the
servers run on); `report` keeps the medians and saves the JSON, `verdict` judges the targets and
`render` prints the tables.
"""
