"""The closing report: where the run went, what it sent and saw, what it checked, what failed
(each failure with the curl lines that reproduce it), and what cleanup left."""

from __future__ import annotations

import textwrap

from contract_tests import coverage
from contract_tests.cleanup import delete_command
from contract_tests.copying import why_not
from contract_tests.exchange import TOKEN_VARIABLE
from contract_tests.omissions import omissions
from contract_tests.run import Run
from contract_tests.target import Target

WIDTH = 100


def render(run: Run) -> str:
    lines = ["", " contract-tests report ".center(WIDTH, "=")]
    lines += target_lines(run)
    lines += _coverage(run)
    lines += ["", "Checks run (passed / failed)"]
    for name, (passed, failed) in sorted(run.ledger.checks().items()):
        lines.append(f"  {name:<58} {passed:>6} / {failed}")
    if run.creates:
        lines += ["", f"Valid create bodies from schemathesis: {run.creates}"]
    if run.schedule_creates:
        lines.append(f"Valid schedule bodies from schemathesis: {run.schedule_creates}")
    if run.instance_creates:
        lines.append(f"Valid instance bodies from schemathesis: {run.instance_creates}")
    if run.copy_requests:
        lines.append(f"Valid copy actions from schemathesis: {run.copy_requests}")
    missing = omissions(run)
    if missing:
        verdict = " (a failure: --require-all)" if run.settings.require_all else ""
        lines += ["", f"Not run{verdict}"]
        lines += [f"  {name}: {why}" for name, why in missing.items()]
    if run.skipped:
        lines += ["", "Tests skipped"]
        lines += [f"  {test}: {why}" for test, why in run.skipped.items()]
    notes = run.ledger.notes()
    if notes:
        lines += ["", "Notes"] + [f"  {note}" for note in notes]
    lines += ["", cleanup_line(run)]
    for schedule_id, why in run.cleanup.schedules_left.items():
        lines.append(f"  left: schedule {schedule_id}: {why}")
        if run.target is not None:
            command = delete_command(run.target, schedule_id, "schedules")
            lines.append(f"        delete it with: {command}")
    for instance_id, why in run.cleanup.instances_left.items():
        lines.append(f"  left: instance {instance_id}: {why}")
        if run.target is not None:
            command = delete_command(run.target, instance_id, "instances")
            lines.append(f"        delete it with: {command}")
    for backup_id, why in run.cleanup.left.items():
        lines.append(f"  left: {backup_id}: {why}")
        if run.target is not None:
            lines.append(f"        delete it with: {delete_command(run.target, backup_id)}")
    for code, elsewhere in run.cleanup.elsewhere.items():
        there = _in_region(run, code)
        for copy_id, why in elsewhere.left.items():
            lines.append(f"  left: copy {copy_id} in {code}: {why}")
            if there is not None:
                lines.append(f"        delete it with: {delete_command(there, copy_id)}")
    failures = run.ledger.failures()
    lines += ["", f"Failures: {len(failures)}"]
    for number, failure in enumerate(failures, 1):
        lines.append(f"  {number}. [{failure.check}] {failure.title}  ({failure.where})")
        lines += [f"     {line}" for line in failure.reason.strip().splitlines()]
        lines += [f"     {curl}" for curl in failure.curls]
    if any(failure.curls for failure in failures) or run.cleanup.leaves_anything():
        lines.append(f"  (the curl lines read the token from ${TOKEN_VARIABLE})")
    return "\n".join(lines)


def last_words(run: Run) -> str:
    """What a second signal prints before the process ends: what cleanup had not deleted
    (schedules first: each goes on making backups until it is deleted; then instances, which
    cost the most while they live)."""
    left = run.inventory.remaining()
    schedules = run.inventory.schedules_remaining()
    instances = run.inventory.instances_remaining()
    copies = {code: run.inventory.elsewhere(code).remaining() for code in run.inventory.regions()}
    if not (left or schedules or instances or any(copies.values())) or run.target is None:
        return "Nothing this run created is left.\n"
    lines = []
    if schedules:
        lines.append(f"Schedules this run created that may still be there ({len(schedules)}):")
        lines += [f"  {delete_command(run.target, i, 'schedules')}" for i in schedules]
    if instances:
        lines.append(f"Instances this run created that may still be there ({len(instances)}):")
        lines += [f"  {delete_command(run.target, i, 'instances')}" for i in instances]
    if left:
        lines.append(f"Backups this run created that may still be there ({len(left)}):")
        lines += [f"  {delete_command(run.target, backup_id)}" for backup_id in left]
    for code, ids in copies.items():
        there = _in_region(run, code)
        if ids and there is not None:
            lines.append(f"Copies this run made in {code} that may still be there ({len(ids)}):")
            lines += [f"  {delete_command(there, copy_id)}" for copy_id in ids]
    lines.append(f"(the curl lines read the token from ${TOKEN_VARIABLE})")
    return "\n".join(lines) + "\n"


def target_lines(run: Run) -> list[str]:
    settings = run.settings
    where = run.target.base_url if run.target else "(not reached)"
    kind = "the mock, served in this process" if run.in_process else "given by --base-url"
    control = {None: "not asked", True: "yes: the suite moves its clock", False: "no: real waits"}
    mode = (
        "read-only: no create, no delete" if settings.read_only else "creates and deletes its own"
    )
    lines = [
        f"target      {where} ({kind})",
        f"control API {control[run.has_control]}",
        f"mode        {mode}",
        f"seed        {settings.seed} (repeat with --seed {settings.seed});"
        f" --max-examples {settings.max_examples}",
    ]
    lines += [f"backs up    {source}" for source in run.sources]
    lines.append(f"restores    {_restores(run)}")
    lines.append(f"copies      {_copies(run)}")
    if run.shutdown.requested:
        lines.append(f"stopped     {run.shutdown.reason}: the run was cut short, then cleaned up")
    return lines


def _restores(run: Run) -> str:
    """Whether the run restores into new instances, and why."""
    if run.settings.read_only:
        return "no: read-only"
    if run.target is None:
        return "not known (the target was not reached)"
    if run.target.restores:
        why = "--allow-restore" if run.settings.allow_restore and not run.has_control else "a mock"
        return f"yes ({why}): it creates instances, and deletes each it created"
    return "no: the target has no control API (a real instance each): give --allow-restore"


def _copies(run: Run) -> str:
    """Whether the run copies backups to another region, where, and why."""
    if run.settings.read_only:
        return "no: read-only"
    if run.target is None:
        return "not known (the target was not reached)"
    why = why_not(run.target)
    copy_to = run.target.copy_to
    if why is not None or copy_to is None:
        return f"no: {why}"
    given = run.settings.allow_copy is not None
    how = "--allow-copy" if given and not run.has_control else "a mock"
    return (
        f"yes ({how}): to {copy_to.code} at {copy_to.root}; it deletes each copy it made"
        f" (the target is {run.target.region or 'in a region its URL does not name'})"
    )


def _in_region(run: Run, code: str) -> Target | None:
    """The run's target in another region it reached (for the commands that delete there)."""
    region = run.target.reach(code) if run.target is not None else None
    return run.target.in_region(region) if run.target is not None and region else None


def cleanup_line(run: Run) -> str:
    cleanup = run.cleanup
    created = len(run.inventory.created())
    schedules = len(run.inventory.schedules_created())
    instances = len(run.inventory.instances_created())
    regions = run.inventory.regions()
    copies = sum(len(run.inventory.elsewhere(code).created()) for code in regions)
    copies_deleted = sum(len(report.deleted) for report in cleanup.elsewhere.values())
    left = len(cleanup.left) + len(cleanup.schedules_left) + len(cleanup.instances_left)
    left += sum(len(report.left) for report in cleanup.elsewhere.values())
    return (
        f"Cleanup: the run created {created} backups (those its schedules made included),"
        f" {schedules} schedules, {instances} instances and {copies} copies in other regions;"
        f" cleanup deleted the {len(cleanup.deleted)} backups, {len(cleanup.schedules_deleted)}"
        f" schedules, {len(cleanup.instances_deleted)} instances and {copies_deleted} copies"
        f" still there; {left} could not be deleted"
    )


def _coverage(run: Run) -> list[str]:
    """The matrix in short: the share of documented statuses the target returned, and what each
    operation answered; then what it never returned, the run's gaps apart from what no request
    can produce here (coverage.py)."""
    document, never = coverage.of_run(run)
    rows = document["operations"]
    lines = [
        "",
        f"Contract coverage: {document['percent']:.1f}% of the documented statuses returned"
        f" ({document['covered']} of {document['documented']}, {len(rows)} operations);"
        f" {coverage.of_the_reachable(document, never)}",
    ]
    for row in rows:
        answered = {**row["statuses"], **row["undocumented"]}
        counts = "  ".join(f"{s} x{n}" for s, n in answered.items() if n)
        where = f"{row['method']} {row['path']}"
        lines.append(f"  {row['operation']:<26} {where:<48} {row['percent']:>5.1f}%  {counts}")
    unmatched = document["unmatched"]
    kinds = ", ".join(f"{status} x{n}" for status, n in unmatched["statuses"].items())
    lines.append(
        "  answers to no operation (an undocumented method, an unknown path):"
        f" {unmatched['count']}" + (f" ({kinds})" if kinds else "")
    )
    lines.append(
        f"  answers with a status their operation does not document: {document['undocumented']}"
    )
    gaps = [item for item in never if item.reason is None]
    if gaps:
        lines += ["", f"Documented statuses never returned ({len(gaps)})"]
        by_operation: dict[str, list[str]] = {}
        for item in gaps:
            by_operation.setdefault(item.operation, []).append(str(item.status))
        lines += [f"  {name:<26} {', '.join(found)}" for name, found in by_operation.items()]
    else:
        lines += ["", "Documented statuses never returned: none but those no request can produce"]
    found = coverage.unreachable(document, never)
    if found:
        lines.append("No request can produce these on this target")
    for status, which, reason in found:
        lines += textwrap.wrap(
            f"{status} on {which}", WIDTH, initial_indent="  ", subsequent_indent="    "
        )
        lines += textwrap.wrap(reason, WIDTH, initial_indent="      ", subsequent_indent="      ")
    return lines
