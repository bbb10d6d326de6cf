"""The machine description: quota-aware core counts (faked cgroup files), device wording, the roofline peaks."""
import os

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


def test_available_cores_honours_quota_and_affinity(tmp_path, monkeypatch):
    monkeypatch.setattr(cpus, "affinity_cores", lambda: 16)
    write(tmp_path / "cpu.max", "150000 100000\n")
    assert cpus.available_cores(proc_cgroup="0::/\n", cgroup_root=tmp_path) == 1  # 1.5 CPUs: one usable core
    write(tmp_path / "cpu.max", "50000 100000\n")
    assert cpus.available_cores(proc_cgroup="0::/\n", cgroup_root=tmp_path) == 1  # never zero
    write(tmp_path / "cpu.max", "max 100000\n")
    assert cpus.available_cores(proc_cgroup="0::/\n", cgroup_root=tmp_path) == 16
    monkeypatch.setattr(cpus, "affinity_cores", lambda: 2)
    write(tmp_path / "cpu.max", "800000 100000\n")
    assert cpus.available_cores(proc_cgroup="0::/\n", cgroup_root=tmp_path) == 2  # the mask is tighter


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
