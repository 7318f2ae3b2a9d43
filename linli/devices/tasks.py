"""Background tasks of the devices app: thin wrappers around the services."""

from __future__ import annotations

from django_tasks import task

from linli.devices.services import device_sweep


@task()
def devices_sweep() -> dict[str, int]:
    """The absence / heartbeat / camera-timeout sweep (also run by ``linli devices sweep``)."""
    report = device_sweep()
    return {"absences": report.absences, "offline": report.offline, "cameras_closed": report.cameras_closed,
            "readings_purged": report.readings_purged}
