"""How many CPUs this process can really use — standard library only, so that ``course.py doctor`` can load this
file before anything is installed. The affinity mask is not enough: Binder and Kubernetes limit CPUs with a CFS
quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``), and ``os.sched_getaffinity`` then reports every core of the
host, so "all cores" runs would oversubscribe a 1–2 CPU quota.
"""
from __future__ import annotations

import math
import os
from pathlib import Path


def cpu_quota(proc_cgroup: str | None = None, cgroup_root: str | Path = "/sys/fs/cgroup") -> float | None:
    """CPUs granted by a container's CFS quota (cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), or ``None``
    when there is no quota. Binder and Kubernetes limit CPUs this way, not with the affinity mask, so
    ``os.sched_getaffinity`` alone would report every core of the host. The tightest limit on the process's
    cgroup path wins (a parent's limit applies to its children)."""
    root = Path(cgroup_root)
    if proc_cgroup is None:
        try:
            proc_cgroup = Path("/proc/self/cgroup").read_text()
        except OSError:
            return None
    limits = []
    for line in proc_cgroup.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # cgroup v2: one unified hierarchy
            for folder in _ancestors(root, path):
                limits.append(_v2_limit(folder / "cpu.max"))
        elif "cpu" in controllers.split(","):  # cgroup v1: the cpu controller's own hierarchy
            for mount in (root / controllers, root / "cpu", root / "cpu,cpuacct"):
                if mount.is_dir():
                    for folder in _ancestors(mount, path):
                        limits.append(_v1_limit(folder))
                    break
    limits = [limit for limit in limits if limit is not None]
    return min(limits) if limits else None


def _ancestors(mount: Path, path: str) -> list[Path]:
    """The cgroup folder of ``path`` and each parent up to the mount point (those that exist)."""
    parts = [p for p in path.strip("/").split("/") if p]
    folders = [mount.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]
    return [folder for folder in folders if folder.is_dir()]


def _v2_limit(cpu_max: Path) -> float | None:
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _v1_limit(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def affinity_cores() -> int:
    """Logical CPUs this process may be scheduled on (the affinity mask; all of them on macOS and Windows)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def available_cores(*, proc_cgroup: str | None = None, cgroup_root: str | Path = "/sys/fs/cgroup") -> int:
    """CPUs this process can really use: the affinity mask, cut to a container's CPU quota (rounded down, at
    least 1). More threads than this only take turns on the same CPUs."""
    quota = cpu_quota(proc_cgroup, cgroup_root)
    cores = affinity_cores()
    return max(1, min(cores, math.floor(quota))) if quota is not None else cores
