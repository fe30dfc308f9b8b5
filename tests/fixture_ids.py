"""The ids of the mock's default state (`fixtures/state.json`, the README's table), in the order
the mock lists them: what the client tests expect to see."""

MYSQL = "d4603f69-ec7e-4e9b-803f-600b9205576f"  # ACTIVE, mysql 5.6
PERCONA = "f4aaba46-fb5f-4316-988d-88da77759968"  # ACTIVE, percona 5.6
SHUTDOWN = "7545e164-c45d-4ca7-bb6c-e2c677d2c864"  # SHUTDOWN, mariadb 10.1
SCHEDULABLE = "44b277eb-39be-4921-be31-3d61b43651d7"  # ACTIVE, mysql 5.6: the schedule examples'
LEGACY = "e1a7d0c2-5b3f-4c8e-9a61-3f2b7c4d9e05"  # ACTIVE, mysql 5.5: no schedules (422)
HA = "130922a2-b9ab-4e95-86be-9c5d79171b5e"
PERCONA_BACKUP = "d9f56b04-e17d-41f0-ae92-30a3b47b8d29"
HA_BACKUP = "0c1b5616-fdc5-45ae-b2dc-6f1440d55d0e"
# Every instance, HA members included, in the mock's order (by id).
FIXTURE_INSTANCES = [
    SCHEDULABLE,
    "58c4b532-9526-455f-99ae-d7e3b95d06dd",
    SHUTDOWN,
    "9ba7dacd-17f3-4a2d-9749-fc4b51cae7db",
    "9e63f30a-a29a-407c-9eeb-af071ae86404",
    MYSQL,
    LEGACY,
    PERCONA,
]
HA_MEMBERS = [FIXTURE_INSTANCES[1], FIXTURE_INSTANCES[3], FIXTURE_INSTANCES[4]]
# Every backup, newest first.
FIXTURE_BACKUPS = [
    PERCONA_BACKUP,
    HA_BACKUP,
    "a9832168-7541-4536-b8d9-a8a9b79cf1b4",
    "61f12fef-edb1-4561-8122-e7c00ef26a82",  # the restore example's backup (of SCHEDULABLE)
]
# The fixture state's flavors (the WADL's examples): (id, name, RAM in MB).
FLAVORS = [
    (1, "512MB Instance", 512),
    (2, "1GB Instance", 1024),
    (3, "2GB Instance", 2048),
    (4, "4GB Instance", 4096),
    (5, "8GB Instance", 8192),
    (6, "16GB Instance", 16384),
    (7, "32GB Instance", 32768),
    (8, "64GB Instance", 65536),
]
