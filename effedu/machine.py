"""The machine the numbers come from: its CPU and usable cores (affinity mask *and* container CPU quota), torch's
threads, the GPU, the device a lesson measures on — and its roofline (peak compute and memory bandwidth,
measured, not looked up).

Every sentence a lesson prints about threads, caches or devices is chosen from these facts
(``device_words``, ``core_facts``), so that a GPU run never says "one thread" and a container limited to one CPU
never calls itself "a machine with one core" when it is a quota.
"""
from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import torch
from torch import nn

from ._runtime import Device, positive_int
from .counting import count_macs, memory_traffic
from .cpus import available_cores, core_topology, cpu_quota
from ._text import plural
from .timing import measure_latency

if TYPE_CHECKING:
    from .verdict import Verdict


def core_facts() -> dict:
    """What limits the thread count here: usable cores (physical performance cores this process may run on, cut to
    a container quota), what the machine shows (logical CPUs, physical cores, performance and efficiency cores),
    torch's default thread count, and a thread-limiting environment variable if one is set (``OMP_NUM_THREADS`` in
    many hub images)."""
    topology = core_topology()
    env = {name: os.environ[name] for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if os.environ.get(name)}
    return {"usable cores": available_cores(topology=topology), "logical cores": topology["logical"],
            "physical cores": topology["physical"], "core kinds": topology["kinds"], "cpu quota": cpu_quota(),
            "torch threads": torch.get_num_threads(), "thread variables": env}


def default_device() -> torch.device:
    """The NVIDIA GPU when PyTorch sees one, else the CPU: what a lesson measures on. (Apple's MPS is opt-in:
    pass ``device="mps"`` — its kernels are young and the lessons' CPU-thread experiments do not apply there.)"""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def device_words(device: Device, threads: int | None = 1) -> str:
    """How a sentence names what was measured: "one CPU thread", "2 CPU threads", "the GPU (NVIDIA H100 …)"."""
    kind = torch.device(device).type if device is not None else "cpu"
    if kind == "cuda":
        name = torch.cuda.get_device_name(torch.device(device)) if torch.cuda.is_available() else "CUDA"
        return f"the GPU ({name})"
    if kind == "mps":
        return "the Apple GPU (MPS)"
    if threads is None:
        threads = torch.get_num_threads()
    return "one CPU thread" if threads == 1 else f"{threads} CPU threads"


def windows_cpu_name() -> str:
    """The CPU's marketing name from the Windows registry (``HKLM\\HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0``,
    ``ProcessorNameString``: "Intel(R) Core(TM) i7-1265U"), not ``platform.processor()``'s "Intel64 Family 6 Model
    154 Stepping 3, GenuineIntel"; "" where the registry cannot be read (not Windows)."""
    try:
        import winreg
    except ImportError:
        return ""
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0") as key:
            return " ".join(str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).split())
    except OSError:
        return ""


def cpu_name() -> str:
    """The CPU's name as its maker sells it: Linux ``/proc/cpuinfo``, macOS ``sysctl``, the Windows registry."""
    if platform.system() == "Windows":
        name = windows_cpu_name()
        if name:
            return name
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if platform.system() == "Darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=5).stdout.strip() or platform.machine()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


# --- the memory allocator: the software layer under the framework ------------------------------------------------

GLIBC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_ARENA_MAX",
                   "GLIBC_TUNABLES")
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
KEEP_BLOCKS = 4_000_000_000  # an mmap threshold no activation reaches: every block comes from the reused heap
GLIBC_MAX_THRESHOLD = 32 * 1024 * 1024  # what older glibc accepts at most (64-bit): larger blocks are still mapped
_pinned: str | None = None


def allocator() -> dict:
    """What hands this process its memory, and how it is set: ``{"library": "glibc 2.36", "settings": "defaults"
    | "MALLOC_MMAP_THRESHOLD_=…" | "pinned by effedu (…)", "pinned": bool}``. On Linux, glibc's malloc maps a large
    block (above its threshold, which it raises as the process runs, up to 32 MiB) straight from the OS and returns it
    on free — so whether an activation is freshly page-faulted on every forward depends on the process's history."""
    preloaded = os.environ.get("LD_PRELOAD", "")
    for name in ("jemalloc", "tcmalloc", "mimalloc"):
        if name in preloaded:
            return {"library": f"{name} (preloaded)", "settings": f"LD_PRELOAD={preloaded}", "pinned": False}
    system = platform.system()
    if system == "Linux":
        libc, version = platform.libc_ver()
        library = f"glibc {version}" if libc == "glibc" else (libc or "the C library's malloc")
        set_here = [f"{name}={os.environ[name]}" for name in GLIBC_VARIABLES if os.environ.get(name)]
        settings = _pinned and f"pinned by effedu ({_pinned})" or ", ".join(set_here) or "defaults"
        return {"library": library, "settings": settings, "pinned": bool(_pinned)}
    if system == "Darwin":
        return {"library": "macOS libmalloc", "settings": "defaults (effedu pins nothing here; whether large "
                "blocks are page-faulted afresh on every forward shows in the faults column)", "pinned": False}
    if system == "Windows":
        return {"library": "PyTorch's CPU allocator (mimalloc on Windows since PyTorch 2.1)", "settings": "defaults",
                "pinned": False}
    return {"library": "unknown", "settings": "defaults", "pinned": False}


def pin_allocator() -> str:
    """Make glibc's malloc keep large blocks in its heap and reuse them, as jemalloc and tcmalloc do: every
    activation then costs the same in every process, instead of a fresh ``mmap`` and its page faults on every
    forward in some processes and not in others (``mallopt``: mmap threshold out of reach, no trimming). Returns
    what was set — or why nothing was (another allocator). Idempotent; ``allocator()`` reports it as pinned."""
    global _pinned
    if _pinned:
        return _pinned
    found = allocator()
    if not found["library"].startswith("glibc"):
        return f"not pinned: {found['library']} manages its own blocks"
    import ctypes  # only on glibc

    libc = ctypes.CDLL("libc.so.6")
    threshold = KEEP_BLOCKS if libc.mallopt(M_MMAP_THRESHOLD, KEEP_BLOCKS) else GLIBC_MAX_THRESHOLD
    if threshold == GLIBC_MAX_THRESHOLD:
        libc.mallopt(M_MMAP_THRESHOLD, GLIBC_MAX_THRESHOLD)  # older glibc: the most it takes
    libc.mallopt(M_TRIM_THRESHOLD, KEEP_BLOCKS)
    _pinned = f"mallopt: mmap threshold {threshold:,} B, no trimming"
    return _pinned


def depthwise_kernels(kernel_sizes: Sequence[int], *, channels: int = 384, side: int = 16) -> dict:
    """Which implementation the CPU's convolution library picks for one depthwise k×k layer on (1, ``channels``,
    ``side``, ``side``), in the default layout and channels-last — read from oneDNN's own report (``ONEDNN_VERBOSE``)
    in a fresh process: {k: {"default layout": "jit_dw:avx512_core", "channels-last": "brdgmm_dw:…"}}. Empty names
    where the library reports nothing (another library, another device). The name says how the work is done:
    ``jit_dw`` / ``brdgmm_dw`` are depthwise kernels, ``gemm`` unrolls the input into a matrix first (im2col)."""
    for k in kernel_sizes:
        positive_int(k, "kernel_sizes")
    code = ("import torch\nfrom effedu import guidelines, transforms\n"
            f"x = torch.randn(1, {channels}, {side}, {side})\n"
            "with torch.inference_mode():\n"
            f"    for k in {[int(k) for k in kernel_sizes]}:\n"
            f"        layer = guidelines.depthwise_stack(k, {channels}, layers=1).eval()\n"
            "        print('effedu:', k, 'default layout', flush=True)\n"
            "        layer(x)\n"
            "        print('effedu:', k, 'channels-last', flush=True)\n"
            "        transforms.ChannelsLast(layer).eval()(x)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ONEDNN_VERBOSE": "1", "DNNL_VERBOSE": "1"})
    found: dict = {int(k): {"default layout": "", "channels-last": ""} for k in kernel_sizes}
    current = None
    for line in done.stdout.splitlines():
        if line.startswith("effedu:"):
            _, k, layout = line.split(" ", 2)
            current = (int(k), layout)
        elif current and ",exec," in line and ",convolution," in line and not found[current[0]][current[1]]:
            fields = line.split(",")
            found[current[0]][current[1]] = fields[fields.index("convolution") + 1]  # the implementation's name
    return found


class Hardware(dict):
    """``hardware()``'s answer: a dict that shows as a small table in a notebook."""

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{v}</td></tr>"
                       for k, v in self.items())
        return f"<table>{rows}</table>"


def hardware() -> Hardware:
    """The machine the numbers come from: CPU, cores (and the quota that limits them), torch threads, torch
    version and backends, GPU."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    backends = [name for name, available in (
        ("MKL", torch.backends.mkl.is_available()), ("oneDNN", torch.backends.mkldnn.is_available()),
        ("OpenMP", torch.backends.openmp.is_available()), ("CUDA", torch.cuda.is_available()),
        ("MPS", torch.backends.mps.is_available())) if available]
    facts = core_facts()
    return Hardware({
        "cpu": cpu_name(),
        "logical cores": facts["logical cores"],
        "physical cores": facts["physical cores"],
        "core kinds": ", ".join(f"{n} {kind}" for kind, n in facts["core kinds"].items()) or "one kind",
        "usable cores": facts["usable cores"],
        "cpu quota": "none" if facts["cpu quota"] is None else f"{facts['cpu quota']:g} CPUs",
        "torch threads": facts["torch threads"],
        "torch": torch.__version__,
        "backends": ", ".join(backends) or "none",
        "gpu": gpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    })


class _MatMul(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ x


class _Copy(nn.Module):
    """Copies into a buffer allocated once: a fresh allocation per run would time page faults, not memory."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if getattr(self, "out", None) is None or self.out.shape != x.shape or self.out.device != x.device:
            self.out = torch.empty_like(x)
        return self.out.copy_(x)


PEAK_MATRIX_SIZES = {"cpu": (1024,), "cuda": (2048, 4096, 8192)}  # n×n matmuls; the best of them is the peak
COPY_MIN_MEGABYTES = 64  # the bandwidth copy is at least this large …
COPY_CACHE_MULTIPLE = 4  # … and at least 4× the last-level cache, so that no cache can hold it …
COPY_MAX_MEGABYTES = 1024  # … but never more than this (it is allocated twice: source and destination)


def _size_in_bytes(text: str) -> int | None:
    """'32768K', '32M', '1024 KB' (sysfs cache sizes) → bytes; None when unreadable."""
    text = text.strip().upper().removesuffix("B").strip()
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
    try:
        return int(float(text.rstrip("KMG").strip()) * scale)
    except ValueError:
        return None


def last_level_cache_bytes(device: Device = None, *, threads: int | None = 1,
                           sysfs: str = "/sys/devices/system/cpu") -> int | None:
    """The cache in front of main memory that a bandwidth probe must overflow: an NVIDIA GPU's L2 (from torch); on a
    CPU the last level's largest cache (Linux sysfs; macOS ``sysctl`` L3, else L2) — with more than one thread, the
    sum of the distinct last-level caches (a many-core chip has one L3 per core complex). None where unknown."""
    kind = torch.device(device).type if device is not None else "cpu"
    if kind == "cuda":
        size = getattr(torch.cuda.get_device_properties(torch.device(device)), "L2_cache_size", 0)
        return int(size) or None
    if kind != "cpu":
        return None
    root = Path(sysfs)
    if root.is_dir():
        found: dict[str, int] = {}  # one entry per distinct cache: its CPU list → its size
        for index in sorted(root.glob("cpu[0-9]*/cache/index[0-9]*")):
            try:
                level = int((index / "level").read_text())
                size = _size_in_bytes((index / "size").read_text())
                shared = (index / "shared_cpu_list").read_text().strip()
            except (OSError, ValueError):
                continue
            if size and level >= 2:
                found[f"{level}:{shared}"] = size
        if found:
            top = max(int(key.split(":")[0]) for key in found)
            last = [size for key, size in found.items() if int(key.split(":")[0]) == top]
            return sum(last) if threads != 1 else max(last)
    if platform.system() == "Darwin":
        from .cpus import _sysctl

        return _sysctl("hw.l3cachesize") or _sysctl("hw.l2cachesize")
    return None


def probe_sizes(device: Device = None, *, threads: int | None = 1) -> dict:
    """What ``machine_peaks`` times on this device: ``matrix_sizes`` (n of the n×n matmuls; a GPU needs large
    ones to fill all its cores — a 1024² matmul is a few dozen microseconds on a large GPU) and ``copy_megabytes``
    (≥ 64 MB and ≥ 4× the last-level cache, at most 1 GB), with ``cache_megabytes`` (None where unknown)."""
    kind = torch.device(device).type if device is not None else "cpu"
    cache = last_level_cache_bytes(device, threads=threads)
    copy_megabytes = COPY_MIN_MEGABYTES
    if cache:
        copy_megabytes = min(COPY_MAX_MEGABYTES, max(COPY_MIN_MEGABYTES, -(-COPY_CACHE_MULTIPLE * cache // 2**20)))
    return {"matrix_sizes": PEAK_MATRIX_SIZES.get(kind, PEAK_MATRIX_SIZES["cpu"]), "copy_megabytes": copy_megabytes,
            "cache_megabytes": cache / 2**20 if cache else None}


@contextlib.contextmanager
def matmul_precision_of_convolutions(device: Device = None):
    """On an NVIDIA GPU, let the probe matmul use TF32 exactly when cuDNN's convolutions may
    (``torch.backends.cudnn.allow_tf32``, on by default, while matmuls default to full fp32): the compute roof is
    then the one the lesson's convolutions meet. Restores the setting; a no-op elsewhere."""
    if device is None or torch.device(device).type != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def machine_peaks(*, threads: int | None = 1, device: Device = None, matrix_size: int | None = None,
                  copy_megabytes: int | None = None) -> dict:
    """This machine's roofline: compute peak (GFLOP/s of large matmuls, the best of ``probe_sizes``' sizes unless
    ``matrix_size`` is given) and memory bandwidth (GB/s of a copy too large for the caches: ``copy_megabytes``,
    by default ≥ 4× the last-level cache), both timed with ``measure_latency`` and counted with effedu's own
    counters. A peak is the best the machine can do, so the fastest sample counts, not the median. The sizes come
    back with the peaks (``matrix_size``: the one that gave the peak; ``copy_megabytes``; ``cache_megabytes``), so
    a lesson can print them beside the numbers."""
    sizes = probe_sizes(device, threads=threads)
    matrix_sizes = (positive_int(matrix_size, "matrix_size"),) if matrix_size is not None else sizes["matrix_sizes"]
    megabytes = positive_int(copy_megabytes, "copy_megabytes") if copy_megabytes is not None \
        else sizes["copy_megabytes"]
    best_gflops, best_size = 0.0, matrix_sizes[0]
    with matmul_precision_of_convolutions(device):
        for n in matrix_sizes:
            square = (n, n)
            matmul_ms = min(measure_latency(_MatMul(), square, threads=threads, device=device, budget_s=0.5).samples)
            gflops = 2 * count_macs(_MatMul(), square) / matmul_ms / 1e6
            if gflops > best_gflops:
                best_gflops, best_size = gflops, n
    copy = (megabytes * 2**20 // 4,)
    copy_ms = min(measure_latency(_Copy(), copy, threads=threads, device=device, budget_s=0.5).samples)
    return {"peak_gflops": best_gflops, "bandwidth_gbs": memory_traffic(_Copy(), copy) / copy_ms / 1e6,
            "threads": threads, "device": str(device or "cpu"), "matrix_size": best_size,
            "copy_megabytes": megabytes, "cache_megabytes": sizes["cache_megabytes"]}


def thread_settings(device: Device = None) -> dict[str, tuple[torch.device, int | None]]:
    """The runs a lesson about parallelism compares: one CPU thread, all usable CPU cores (when there is more than
    one), and the lesson's GPU when it has one — {label: (device, threads)}."""
    cores = available_cores()
    settings: dict[str, tuple[torch.device, int | None]] = {"1 CPU thread": (torch.device("cpu"), 1)}
    if cores > 1:
        settings[f"{cores} CPU threads"] = (torch.device("cpu"), cores)
    if device is not None and torch.device(device).type != "cpu":
        settings[device_words(device)] = (torch.device(device), None)
    return settings


# --- the sentences a lesson shows about this machine ---------------------------------------------------------

def describe(device: Device, threads: int = 1) -> Verdict:
    """The line under a lesson's imports: what its timings run on, in words chosen from the device — a
    ``Verdict`` only so that a lesson shows it as its other sentences (nothing is decided here)."""
    from .verdict import Verdict  # verdict imports device_words from here

    kind = str(device).split(":")[0]
    facts = core_facts()
    if kind == "cpu":
        memory = allocator()
        text = (f"Timings in this lesson run on **{device_words(device, threads)}** of *{cpu_name()}* "
                f"({_cores_here(facts)}): stable, and comparable with the papers' single-core phone numbers. Memory "
                f"allocator: {memory['library']}, {memory['settings']}.")
    else:
        text = (f"Timings in this lesson run on **{device_words(device, threads)}**; experiments about threads run "
                f"on the CPU (*{cpu_name()}*) on purpose, and say so.")
    return Verdict(kind, text, {"device": str(device), "threads": threads})


def _cores_here(facts: Mapping) -> str:
    """'2 usable cores here' or '8 usable cores here: 4 performance and 4 efficiency cores, 16 logical CPUs'."""
    usable = facts["usable cores"]
    text = f"{plural(usable, 'usable core')} here"
    kinds = facts.get("core kinds") or {}
    if len(kinds) > 1:
        text += ": " + " and ".join(plural(count, f"{kind} core") for kind, count in kinds.items())
    logical = facts.get("logical cores")
    if logical and logical > facts.get("physical cores", usable):
        text += f", {plural(logical, 'logical CPU')} (two threads per core share one core's units)"
    return text


def cores(facts: Mapping | None = None) -> Verdict:
    """What limits the thread count here, told apart: one usable core (a machine or a container quota) is not the
    same as torch being limited to one thread by an environment variable; logical CPUs (SMT) and efficiency cores
    are not cores that run a thread as fast as a performance core."""
    from .verdict import Verdict

    facts = facts or core_facts()
    usable, quota, variables = facts["usable cores"], facts["cpu quota"], facts["thread variables"]
    limit = f" (a container CPU quota of {quota:g} CPUs)" if quota is not None else ""
    if usable == 1:
        return Verdict("one core", f"This notebook may use **1 core**{limit}: there is no second core to compare "
                       "with here — on a laptop with more cores, try it.", dict(facts))
    text = f"This notebook may use **{plural(usable, 'core')}**{limit}"
    kinds = facts.get("core kinds") or {}
    if len(kinds) > 1:
        text += (" — " + " and ".join(plural(count, f"{kind} core") for kind, count in kinds.items()) + "; "
                 "\"all cores\" below means the performance cores, since a static split of work waits for the "
                 "slowest core")
    logical = facts.get("logical cores")
    if logical and logical > facts.get("physical cores", usable):
        text += f" (the machine shows {plural(logical, 'logical CPU')}: two hardware threads per core)"
    text += f"; torch starts with {plural(facts['torch threads'], 'thread')}"
    if variables and facts["torch threads"] < usable:
        text += (f" because {', '.join(f'{k}={v}' for k, v in variables.items())} is set — effedu sets the thread "
                 f"count itself, so the comparison below uses all {usable} usable cores")
    return Verdict("several cores", text + ".", dict(facts))
