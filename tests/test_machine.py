"""The machine description: quota-aware core counts (faked cgroup files), device wording, the roofline peaks."""
import os
import platform
import struct
import subprocess
import sys

import pytest
import torch

import effedu
from effedu import cpus, machine


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_is_read(tmp_path):
    write(tmp_path / "cpu.max", "150000 100000\n")
    assert cpus.cpu_quota("0::/\n", tmp_path) == pytest.approx(1.5)


def test_cgroup_v2_nested_path_takes_the_tightest_limit(tmp_path):
    write(tmp_path / "cpu.max", "400000 100000\n")
    write(tmp_path / "kubepods" / "pod1" / "cpu.max", "100000 100000\n")
    assert cpus.cpu_quota("0::/kubepods/pod1\n", tmp_path) == pytest.approx(1.0)


def test_cgroup_v2_without_a_limit(tmp_path):
    write(tmp_path / "cpu.max", "max 100000\n")
    assert cpus.cpu_quota("0::/\n", tmp_path) is None


def test_cgroup_v1_quota_is_read(tmp_path):
    write(tmp_path / "cpu,cpuacct" / "cpu.cfs_quota_us", "200000\n")
    write(tmp_path / "cpu,cpuacct" / "cpu.cfs_period_us", "100000\n")
    text = "12:memory:/\n4:cpu,cpuacct:/\n"
    assert cpus.cpu_quota(text, tmp_path) == pytest.approx(2.0)
    write(tmp_path / "cpu,cpuacct" / "cpu.cfs_quota_us", "-1\n")
    assert cpus.cpu_quota(text, tmp_path) is None


def test_available_cores_honours_quota_and_affinity(tmp_path):
    sixteen = {"logical": 16, "physical": 16, "kinds": {}}
    write(tmp_path / "cpu.max", "150000 100000\n")
    assert cpus.available_cores(proc_cgroup="0::/\n", cgroup_root=tmp_path, topology=sixteen) == 1  # 1.5 CPUs
    write(tmp_path / "cpu.max", "50000 100000\n")
    assert cpus.available_cores(proc_cgroup="0::/\n", cgroup_root=tmp_path, topology=sixteen) == 1  # never zero
    write(tmp_path / "cpu.max", "max 100000\n")
    assert cpus.available_cores(proc_cgroup="0::/\n", cgroup_root=tmp_path, topology=sixteen) == 16
    write(tmp_path / "cpu.max", "800000 100000\n")
    two = {"logical": 2, "physical": 2, "kinds": {}}
    assert cpus.available_cores(proc_cgroup="0::/\n", cgroup_root=tmp_path, topology=two) == 2  # the mask: tighter


def fake_sysfs(root, siblings: dict[int, str], kinds: dict[str, str] | None = None):
    for cpu, listed in siblings.items():
        write(root / "system" / "cpu" / f"cpu{cpu}" / "topology" / "core_cpus_list", listed + "\n")
    for folder, listed in (kinds or {}).items():
        write(root / folder / "cpus", listed + "\n")


def test_linux_smt_laptop_counts_physical_cores(tmp_path):
    # 8 cores, 16 logical CPUs: cpu N and N+8 share a core
    fake_sysfs(tmp_path, {cpu: f"{cpu % 8},{cpu % 8 + 8}" for cpu in range(16)})
    topology = cpus.linux_topology(set(range(16)), tmp_path)
    assert topology == {"logical": 16, "physical": 8, "kinds": {}} and cpus.thread_cores(topology) == 8
    assert cpus.linux_topology({0, 8, 1}, tmp_path)["physical"] == 2  # the affinity mask picks the cores


def test_linux_intel_hybrid_uses_the_performance_cores(tmp_path):
    # 6 P-cores with SMT (CPUs 0-11) and 8 E-cores (CPUs 12-19): 20 logical CPUs, 14 physical cores
    siblings = {cpu: f"{cpu - cpu % 2}-{cpu - cpu % 2 + 1}" for cpu in range(12)}
    siblings.update({cpu: str(cpu) for cpu in range(12, 20)})
    fake_sysfs(tmp_path, siblings, {"cpu_core": "0-11", "cpu_atom": "12-19"})
    topology = cpus.linux_topology(set(range(20)), tmp_path)
    assert topology == {"logical": 20, "physical": 14, "kinds": {"performance": 6, "efficiency": 8}}
    assert cpus.thread_cores(topology) == 6


def test_macos_apple_silicon_and_intel(monkeypatch):
    m2 = {"hw.physicalcpu": 8, "hw.logicalcpu": 8, "hw.perflevel0.physicalcpu": 4, "hw.perflevel1.physicalcpu": 4}
    topology = cpus.macos_topology(m2.get)
    assert topology["kinds"] == {"performance": 4, "efficiency": 4} and cpus.thread_cores(topology) == 4
    intel = {"hw.physicalcpu": 4, "hw.logicalcpu": 8}
    assert cpus.thread_cores(cpus.macos_topology(intel.get)) == 4 and cpus.macos_topology({}.get) is None


def windows_record(efficiency_class: int) -> bytes:
    # SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX for one core: Relationship 0, Size 48, Flags, EfficiencyClass, …
    return struct.pack("<IIBB", 0, 48, 1, efficiency_class) + bytes(38)


def test_windows_hybrid_from_the_processor_records():
    buffer = b"".join(windows_record(1) for _ in range(6)) + b"".join(windows_record(0) for _ in range(8))
    buffer += struct.pack("<II", 2, 16) + bytes(8)  # a cache record: not a core
    assert cpus.windows_cores(buffer) == [1] * 6 + [0] * 8
    topology = cpus.windows_topology(buffer)
    assert topology["physical"] == 14 and topology["kinds"] == {"performance": 6, "efficiency": 8}
    assert cpus.thread_cores(topology) == 6
    assert cpus.windows_topology(b"".join(windows_record(0) for _ in range(4)))["kinds"] == {}
    assert cpus.windows_topology(None) is None


def test_the_sentences_name_both_kinds_of_core():
    facts = {"usable cores": 4, "cpu quota": None, "thread variables": {}, "torch threads": 4,
             "logical cores": 8, "physical cores": 8, "core kinds": {"performance": 4, "efficiency": 4}}
    text = effedu.machine.cores(facts).text
    assert "4 performance cores and 4 efficiency cores" in text and "slowest core" in text
    smt = {**facts, "core kinds": {}, "logical cores": 16, "physical cores": 8, "usable cores": 8}
    assert "16 logical CPUs" in effedu.machine.cores(smt).text


def test_core_facts_report_a_thread_variable(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    facts = machine.core_facts()
    assert facts["thread variables"] == {"OMP_NUM_THREADS": "1"}
    assert facts["usable cores"] >= 1 and facts["torch threads"] == torch.get_num_threads()


def test_device_words():
    assert machine.device_words("cpu", 1) == "one CPU thread"
    assert machine.device_words("cpu", 4) == "4 CPU threads"
    assert machine.device_words(torch.device("mps")) == "the Apple GPU (MPS)"
    if not torch.cuda.is_available():
        assert machine.device_words("cuda") == "the GPU (CUDA)"
    assert "thread" not in machine.device_words("cuda")


def test_default_device_follows_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert machine.default_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert machine.default_device() == torch.device("cpu")


def test_hardware_describes_the_machine():
    info = effedu.hardware()
    for key in ["cpu", "logical cores", "usable cores", "cpu quota", "torch threads", "torch", "backends", "gpu",
                "python", "os"]:
        assert key in info
    assert info["torch"] == torch.__version__ and info["logical cores"] == os.cpu_count()
    assert "<table>" in info._repr_html_()


def test_machine_peaks_are_positive_and_counted():
    peaks = machine.machine_peaks(matrix_size=128, copy_megabytes=1)
    assert peaks["peak_gflops"] > 0 and peaks["bandwidth_gbs"] > 0 and peaks["threads"] == 1


def test_thread_settings_name_each_run(monkeypatch):
    monkeypatch.setattr(machine, "available_cores", lambda: 4)
    assert list(machine.thread_settings("cpu")) == ["1 CPU thread", "4 CPU threads"]
    monkeypatch.setattr(machine, "available_cores", lambda: 1)
    assert list(machine.thread_settings("cpu")) == ["1 CPU thread"]
    monkeypatch.setattr(machine, "device_words", lambda device, threads=1: "the GPU (Fake)")
    settings = machine.thread_settings(torch.device("mps"))
    assert list(settings) == ["1 CPU thread", "the GPU (Fake)"] and settings["the GPU (Fake)"][1] is None


def test_the_allocator_is_described_and_a_pinned_one_says_so(monkeypatch):
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
    assert machine.allocator()["library"] == "jemalloc (preloaded)"
    assert "not pinned" in machine.pin_allocator() or machine.allocator()["pinned"] is False
    monkeypatch.delenv("LD_PRELOAD")
    if not platform.libc_ver()[0] == "glibc":
        pytest.skip("glibc's allocator")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert machine.allocator()["settings"] == "MALLOC_MMAP_THRESHOLD_=131072"
    code = ("from effedu import machine; print(machine.pin_allocator()); a = machine.allocator(); "
            "print(a['pinned'], a['settings'])")  # pinned in a child: this process keeps its allocator as it is
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "mallopt: mmap threshold" in done.stdout and "True pinned by effedu" in done.stdout


def test_depthwise_kernels_reads_the_librarys_own_choice_in_a_child_process():
    found = machine.depthwise_kernels([3, 31], channels=16, side=8)
    assert set(found) == {3, 31} and all(set(v) == {"default layout", "channels-last"} for v in found.values())
    if torch.backends.mkldnn.is_available() and platform.machine().lower() in ("x86_64", "amd64"):
        # oneDNN names every implementation it ran; a depthwise 3×3 always has a dedicated kernel there
        assert "dw" in found[3]["default layout"] and all(name for v in found.values() for name in v.values())
    with pytest.raises(ValueError, match="kernel_sizes"):
        machine.depthwise_kernels([0])


def test_windows_cpu_name_comes_from_the_registry(monkeypatch):
    class Key:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    opened = []
    fake = type(sys)("winreg")
    fake.HKEY_LOCAL_MACHINE = "HKLM"
    fake.OpenKey = lambda root, path: opened.append((root, path)) or Key()
    fake.QueryValueEx = lambda key, name: ("  Intel(R) Core(TM) i7-1265U  ", 1) if name == "ProcessorNameString" \
        else (_ for _ in ()).throw(OSError(name))
    monkeypatch.setitem(sys.modules, "winreg", fake)
    monkeypatch.setattr(machine.platform, "system", lambda: "Windows")
    assert machine.cpu_name() == "Intel(R) Core(TM) i7-1265U"
    assert opened == [("HKLM", r"HARDWARE\DESCRIPTION\System\CentralProcessor\0")]

    def unreadable(root, path):
        raise OSError("access denied")

    fake.OpenKey = unreadable  # a registry that cannot be read: the old fallback, never an exception
    monkeypatch.setattr(machine.platform, "processor", lambda: "Intel64 Family 6 Model 154")
    monkeypatch.setattr("builtins.open", lambda *a, **k: (_ for _ in ()).throw(OSError("no /proc")))
    assert machine.windows_cpu_name() == "" and machine.cpu_name() == "Intel64 Family 6 Model 154"


def test_last_level_cache_is_read_from_sysfs_per_core_complex(tmp_path):
    for cpu in range(8):
        complex_cpus = "0-3" if cpu < 4 else "4-7"
        for index, (level, size, shared) in enumerate([(1, "32K", str(cpu)), (2, "1024K", str(cpu)),
                                                       (3, "32768K", complex_cpus)]):
            folder = tmp_path / f"cpu{cpu}" / "cache" / f"index{index}"
            write(folder / "level", f"{level}\n")
            write(folder / "size", f"{size}\n")
            write(folder / "shared_cpu_list", f"{shared}\n")
    assert machine.last_level_cache_bytes(threads=1, sysfs=str(tmp_path)) == 32 * 2**20  # one thread: one L3
    assert machine.last_level_cache_bytes(threads=8, sysfs=str(tmp_path)) == 64 * 2**20  # all: both complexes'
    assert machine.last_level_cache_bytes("meta") is None


@pytest.mark.parametrize("cache_mb,copy_mb", [(None, 64), (8, 64), (32, 128), (96, 384), (4096, 1024)])
def test_bandwidth_copy_is_four_times_the_last_level_cache(monkeypatch, cache_mb, copy_mb):
    monkeypatch.setattr(machine, "last_level_cache_bytes",
                        lambda device=None, threads=1: cache_mb and cache_mb * 2**20)
    sizes = machine.probe_sizes("cpu")
    assert sizes["copy_megabytes"] == copy_mb and sizes["cache_megabytes"] == cache_mb
    assert sizes["matrix_sizes"] == (1024,)
    assert max(machine.PEAK_MATRIX_SIZES["cuda"]) >= 4096  # a GPU is filled only by large matmuls


def test_gpu_probe_matmul_uses_the_convolutions_precision_and_restores_it():
    before = torch.backends.cuda.matmul.allow_tf32
    with machine.matmul_precision_of_convolutions("cuda"):  # flags only: no GPU needed
        assert torch.backends.cuda.matmul.allow_tf32 == torch.backends.cudnn.allow_tf32
    assert torch.backends.cuda.matmul.allow_tf32 == before
    with machine.matmul_precision_of_convolutions("cpu"):
        assert torch.backends.cuda.matmul.allow_tf32 == before


def test_machine_peaks_say_what_they_timed():
    peaks = machine.machine_peaks(matrix_size=128, copy_megabytes=1)
    assert peaks["matrix_size"] == 128 and peaks["copy_megabytes"] == 1 and "cache_megabytes" in peaks
