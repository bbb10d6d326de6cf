"""How many CPU cores this process can really use — standard library only, so that ``course.py doctor`` can load
this file before anything is installed.

Three things make "all cores" smaller than ``os.cpu_count()``:

* **containers**: Binder and Kubernetes limit CPUs with a CFS quota (cgroup v2 ``cpu.max``, v1
  ``cpu.cfs_quota_us``), while ``os.sched_getaffinity`` reports every core of the host;
* **SMT** (hyper-threading): an 8-core laptop shows 16 logical CPUs; two threads on one core share its arithmetic
  units, so a 16-thread run of a compute-bound network is no faster than an 8-thread one — and often slower;
* **hybrid CPUs** (Apple M-series, Intel P+E cores): OpenMP splits a layer's work evenly across threads, so one
  thread on an efficiency core makes every layer wait for it.

``available_cores`` counts what a thread experiment should use: the performance cores' physical cores this process
may run on, cut to the quota. ``core_topology`` says what the machine has, for the sentences that name it. Both read
the operating system's own description (Linux sysfs, macOS ``sysctl``, Windows'
``GetLogicalProcessorInformationEx``); each reader takes its source as an argument, so tests fake any machine.
"""
from __future__ import annotations

import math
import os
import platform
import struct
import subprocess
from pathlib import Path
from typing import Callable


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


# --- what the machine has: physical cores, and performance / efficiency kinds ----------------------------------

def _cpu_list(text: str) -> set[int]:
    """'0-3,8,10-11' → {0, 1, 2, 3, 8, 10, 11} (the kernel's CPU list format)."""
    cpus = set()
    for part in text.strip().split(","):
        if "-" in part:
            first, last = part.split("-")
            cpus.update(range(int(first), int(last) + 1))
        elif part:
            cpus.add(int(part))
    return cpus


def linux_topology(allowed: set[int], sysfs: str | Path = "/sys/devices") -> dict | None:
    """Physical cores among the ``allowed`` logical CPUs (one per distinct ``core_cpus_list``), and on Intel hybrid
    CPUs how many are performance (``cpu_core``) and efficiency (``cpu_atom``) cores. None without sysfs."""
    root = Path(sysfs)
    siblings = {}
    for cpu in sorted(allowed):
        topology = root / "system" / "cpu" / f"cpu{cpu}" / "topology"
        for name in ("core_cpus_list", "thread_siblings_list"):
            try:
                siblings[cpu] = frozenset(_cpu_list((topology / name).read_text()))
                break
            except (OSError, ValueError):
                continue
    if not siblings:
        return None
    cores = set(siblings.values())
    kinds = {}
    for kind, folder in (("performance", "cpu_core"), ("efficiency", "cpu_atom")):
        try:
            members = _cpu_list((root / folder / "cpus").read_text())
        except (OSError, ValueError):
            continue
        kinds[kind] = sum(1 for core in cores if core & members)
    return {"logical": len(allowed), "physical": len(cores),
            "kinds": kinds if len(kinds) == 2 and all(kinds.values()) else {}}


def _sysctl(name: str) -> int | None:
    try:
        done = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
        return int(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def macos_topology(sysctl: Callable[[str], int | None] = _sysctl) -> dict | None:
    """``hw.physicalcpu`` / ``hw.logicalcpu``, and on Apple silicon ``hw.perflevel0`` (performance) and
    ``hw.perflevel1`` (efficiency) physical cores."""
    physical, logical = sysctl("hw.physicalcpu"), sysctl("hw.logicalcpu")
    if physical is None:
        return None
    performance, efficiency = sysctl("hw.perflevel0.physicalcpu"), sysctl("hw.perflevel1.physicalcpu")
    kinds = {"performance": performance, "efficiency": efficiency} if performance and efficiency else {}
    return {"logical": logical or physical, "physical": physical, "kinds": kinds}


def windows_cores(buffer: bytes) -> list[int]:
    """The efficiency class of every physical core in a ``GetLogicalProcessorInformationEx(RelationProcessorCore)``
    buffer: records of (Relationship: DWORD, Size: DWORD, Flags: BYTE, EfficiencyClass: BYTE, …); a higher class is
    a faster core (Windows 10+; 0 everywhere on a CPU with one kind)."""
    classes, offset = [], 0
    while offset + 10 <= len(buffer):
        relationship, size = struct.unpack_from("<II", buffer, offset)
        if size <= 0:
            break
        if relationship == 0:  # RelationProcessorCore: one record per physical core
            classes.append(buffer[offset + 9])
        offset += size
    return classes


def _windows_buffer() -> bytes | None:
    try:
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        length = ctypes.c_uint32(0)
        kernel32.GetLogicalProcessorInformationEx(0, None, ctypes.byref(length))
        buffer = ctypes.create_string_buffer(length.value)
        if not kernel32.GetLogicalProcessorInformationEx(0, buffer, ctypes.byref(length)):
            return None
        return buffer.raw[:length.value]
    except (OSError, AttributeError, ValueError):
        return None


def windows_topology(buffer: bytes | None) -> dict | None:
    classes = windows_cores(buffer) if buffer else []
    if not classes:
        return None
    fastest = max(classes)
    performance = classes.count(fastest)
    kinds = {"performance": performance, "efficiency": len(classes) - performance} if performance < len(classes) \
        else {}
    return {"logical": os.cpu_count() or len(classes), "physical": len(classes), "kinds": kinds}


def core_topology() -> dict:
    """This machine's logical CPUs, physical cores and (on hybrid CPUs) performance / efficiency cores, as far as the
    operating system says: ``{"logical": 16, "physical": 8, "kinds": {"performance": 4, "efficiency": 4}}``."""
    system = platform.system()
    found = None
    if system == "Linux":
        allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
        found = linux_topology(allowed)
    elif system == "Darwin":
        found = macos_topology()
    elif system == "Windows":
        found = windows_topology(_windows_buffer())
    logical = affinity_cores()
    return found or {"logical": logical, "physical": logical, "kinds": {}}


def thread_cores(topology: dict) -> int:
    """How many threads an "all cores" run should use on this topology: the performance cores where there are two
    kinds, else the physical cores — never an SMT sibling or an efficiency core."""
    kinds = topology.get("kinds") or {}
    return max(1, kinds.get("performance") or topology["physical"])


def available_cores(*, proc_cgroup: str | None = None, cgroup_root: str | Path = "/sys/fs/cgroup",
                    topology: dict | None = None) -> int:
    """Cores this process can really use for a thread experiment: the physical performance cores it may run on
    (``thread_cores``), cut to a container's CPU quota (rounded down, at least 1). More threads than this only take
    turns on the same cores."""
    quota = cpu_quota(proc_cgroup, cgroup_root)
    cores = thread_cores(topology or core_topology())
    return max(1, min(cores, math.floor(quota))) if quota is not None else cores
