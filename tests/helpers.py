"""Small models and frames the tests share (imported as ``from helpers import …``; pytest puts tests/ on the path)."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pandas as pd
from torch import nn

from effedu.timing import LatencyResult, comparison_stats


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's pattern — a BatchNorm with its activation inside as a child module (written here: no timm)."""

    def __init__(self, channels):
        super().__init__(channels)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(super().forward(x))


class AddModule(nn.Module):
    """x + y: zero MACs, yet it reads two tensors and writes one."""

    def forward(self, x):
        y = x * 1.0  # an independent tensor: x + x would read x only once
        return x + y


class ChannelShuffleModule(nn.Module):
    def __init__(self, groups: int = 2):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class Raising(nn.Module):
    """Runs a conv, then raises: profilers must still clean up."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        self.bn(self.conv(x))
        raise KeyError("boom")


class Logger(nn.Module):
    """Appends its name to a shared log at every forward: shows the order the timer ran things in."""

    def __init__(self, name, log):
        super().__init__()
        self.name, self.log = name, log

    def forward(self, x):
        self.log.append(self.name)
        return x


class CountingForwards(nn.Module):
    """Wraps a model and counts its forward passes (the explorer tests bound them)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner, self.calls = inner, 0

    def forward(self, x):
        self.calls += 1
        return self.inner(x)


def small_cnn() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def frame_from(samples: dict, macs: dict | None = None, threads: dict | None = None) -> pd.DataFrame:
    """A frame as compare_latency returns it, from scripted samples (ms per round) and optional MAC counts."""
    frame = comparison_stats(samples)
    frame.attrs.update(results={name: LatencyResult(list(values), (threads or {}).get(name, 1), "cpu", 1, 0, name)
                                for name, values in samples.items()}, threads=1, device="cpu",
                       rounds=len(next(iter(samples.values()))))
    if macs is not None:
        frame["macs"] = [macs[name] for name in frame.index]
        frame["macs_ratio"] = frame["macs"] / frame["macs"].iloc[0]
    return frame


# --- a JupyterLab server for the lab-command and browser tests ------------------------------------------

TOKEN = "effedu-test-token"


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except urllib.error.URLError:
        return 0  # not listening yet


@contextlib.contextmanager
def jupyter_server(command: list, state_dir, cwd, env: dict | None = None):
    """Start ``command`` (a JupyterLab command line) on a free port with a known token; yield its base URL.
    Runtime files, settings and workspaces go to ``state_dir``, never to the user's own Jupyter folders; ``env``
    (default: this process's) is the server's and its kernels' environment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ if env is None else env)
    env["JUPYTER_RUNTIME_DIR"] = str(state_dir / "runtime")
    # a caller that prepared its own settings (the course's news-off settings) keeps them
    env.setdefault("JUPYTERLAB_SETTINGS_DIR", str(state_dir / "settings"))
    env.setdefault("JUPYTERLAB_WORKSPACES_DIR", str(state_dir / "workspaces"))
    log = open(state_dir / "jupyter.log", "w")
    server = subprocess.Popen([*command, f"--ServerApp.port={port}", "--no-browser",
                               f"--IdentityProvider.token={TOKEN}"], cwd=cwd, stdout=log, stderr=log, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline and http_status(f"{base}/api/status?token={TOKEN}") != 200:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {(state_dir / 'jupyter.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
