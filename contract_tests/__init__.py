"""Contract tests for the backups API: any implementation, against openapi.yaml and what it
cannot say.

Layers, each depending only on those below it:

- `cli` (the `contract-tests` command) runs pytest on `suite/` with `plugin`;
- `plugin` gives the tests the target, the API and the schemathesis run as fixtures, cleans
  up however the session ends, and prints the closing `report`;
- `suite/` holds the tests: `conformance` (schemathesis' phases, every operation, its findings
  in `outcomes`), the `lifecycle`, `pages`, `account`, `schedules`, `runs` (a schedule's runs
  on the clock), `restores` (instances restored from backups, and deleted) and `copies`
  (backups copied to another region, and deleted there) checks in scenarios, and the
  Hypothesis `machine`;
- `api` sends each hand-written request through the `guard`, into the `ledger` and past the
  `checks` every answer must pass; the `inventory` keeps what the run created (backups,
  schedules and instances, and by region the copies it made), for `cleanup`;
- `target`, `regions` (which region a URL names, another region's URL, `--allow-copy`),
  `timeline` (the mock's clock, or real waits), `contract` (what the spec says) and `server`
  (an ASGI app on a local port) at the bottom.
"""
