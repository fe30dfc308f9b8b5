"""Handlers of the control API (control.yaml), served under /__mock."""

from __future__ import annotations

import codecs
from typing import Any

from connexion import request
from connexion.lifecycle import ConnexionResponse
from connexion.utils import split_content_type

from mockserver.control.coverage import Coverage
from mockserver.control.coverage_page import journal_link, matrix_html, page
from mockserver.control.injection import Injector
from mockserver.control.journal import Journal
from mockserver.http.ratelimit import RateLimiter
from mockserver.proxy.verdicts import Verdicts
from mockserver.state import jsontext
from mockserver.state.backup_document import backup_reader
from mockserver.state.clock import Clock, timestamp
from mockserver.state.errors import BadRequest
from mockserver.state.regions import Regions

Json = dict[str, Any]
# Where a state document lists backups: the own region's accounts, and every other region's.
STATE_BACKUPS = (("accounts", "*", "backups"), ("regions", "*", "accounts", "*", "backups"))


class ControlHandlers:
    def __init__(
        self,
        regions: Regions,
        clock: Clock,
        journal: Journal,
        coverage: Coverage,
        injector: Injector,
        limiter: RateLimiter,
        fixture_state: Json,
        verdicts: Verdicts,
    ) -> None:
        self.regions = regions
        self.clock = clock
        self.journal = journal
        self.coverage = coverage
        self.injector = injector
        self.limiter = limiter
        self.fixture_state = fixture_state
        self.verdicts = verdicts

    async def reset(self) -> Json:
        self.regions.replace(self.fixture_state)  # the own region's; the others empty
        self.regions.fate.mode = "normal"
        self.injector.clear()
        self.limiter.clear()
        self.coverage.clear(self.journal.next_seq)
        return {"reset": True}

    async def getState(self) -> Json:
        return self.regions.snapshot()

    async def putState(self) -> Json:
        # The body is read again here (the validation has parsed it whole), into Backups one
        # at a time, from its UTF-8 bytes as they are: see jsontext.py.
        _, charset = split_content_type(request.headers.get("content-type"))
        raw: bytes = await request.body()
        body = raw if not charset or codecs.lookup(charset).name == "utf-8" else raw.decode(charset)
        try:
            document = jsontext.loads(body, STATE_BACKUPS, backup_reader())
        except ValueError as error:  # malformed JSON: refused by the validation before this
            raise BadRequest(f"Invalid state document: {error}") from error
        self.regions.replace(document)
        return self.regions.snapshot()

    async def getClock(self) -> Json:
        return self._clock()

    async def advanceClock(self, body: Json) -> Json:
        try:
            self.clock.advance(float(body["advance_seconds"]))
        except ValueError as error:  # past 9999-12-24
            raise BadRequest(str(error)) from error
        return self._clock()

    async def getRequests(
        self,
        method: str | None = None,
        path: str | None = None,
        region: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        from_seq: int | None = None,
    ) -> Json:
        found = self.journal.entries(
            method, path, region, operation=operation, status=status, from_seq=from_seq
        )
        return {"requests": found}

    async def clearRequests(self) -> ConnexionResponse:
        self.journal.clear()
        return ConnexionResponse(status_code=204)

    async def getCoverage(self) -> Json:
        return self.coverage.matrix()

    async def clearCoverage(self) -> ConnexionResponse:
        self.coverage.clear(self.journal.next_seq)
        return ConnexionResponse(status_code=204)

    async def getCoveragePage(self) -> ConnexionResponse:
        document = self.coverage.matrix()
        note = (
            f"<p>Each count links to the journal's entries behind it; the journal keeps the last"
            f" {self.journal.size:,} requests, the counts every answer since the last reset or"
            ' clear. The same figures as JSON: <a href="coverage">coverage</a>.</p>'
        )
        html = page(
            "Backups API mock: contract coverage",
            [matrix_html(document, journal_link(document["first_seq"])), note],
        )
        return ConnexionResponse(
            status_code=200, body=html, content_type="text/html; charset=utf-8"
        )

    async def getViolations(self) -> Json:
        return self.verdicts.summary()

    async def clearViolations(self) -> ConnexionResponse:
        self.verdicts.clear()
        return ConnexionResponse(status_code=204)

    async def getFaults(self) -> Json:
        return self._faults()

    async def addFault(self, body: Json) -> tuple[Json, int]:
        if "backups" in body:
            self.regions.fate.mode = body["backups"]
        else:
            self.injector.add(
                method=body.get("method", "*"),
                path=body["path"],
                region=body.get("region"),
                status=body.get("status"),
                latency_ms=body.get("latency_ms", 0),
                count=body.get("count", 1),
            )
        return self._faults(), 201

    async def clearFaults(self) -> ConnexionResponse:
        self.injector.clear()
        self.regions.fate.mode = "normal"
        return ConnexionResponse(status_code=204)

    def _clock(self) -> Json:
        now = self.clock.now()
        return {
            "now": timestamp(now),
            "epoch": now,
            "offset_seconds": self.clock.offset,
            "frozen": self.clock.frozen,
        }

    def _faults(self) -> Json:
        return {"rules": self.injector.rules(), "backups": self.regions.fate.mode}
