#!/usr/bin/env bash
# The checks run on a lent NVIDIA GPU machine (no network there; its python3 already holds a CUDA PyTorch): the
# packages its image lacks come as wheels in .whl/ (downloaded here with `pip download --no-deps
# --only-binary=:all: --python-version 3.12 --platform manylinux… -d .whl <the pinned names>`), then the unit tests,
# the class scorecard and every lesson (the reference results) run, writing into $OUT (at most 8 files come back).
#   bash tools/gpu_run.sh            (OUT defaults to ./gpu-out)
set -uo pipefail
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 EFFEDU_CACHE=/tmp/effedu-cache
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; python3 -c "import torch, effedu
print(torch.__version__, torch.cuda.get_device_name(0)); print(dict(effedu.hardware()))"; } > "$OUT/machine.txt" 2>&1
step() {  # name, seconds, command…
    local name=$1 limit=$2; shift 2; local start=$SECONDS
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    echo "$name: exit $? in $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
}
step pytest 100 python3 -m pytest tests -q -p no:cacheprovider -m "not slow"
step scorecard 120 python3 -m effedu scorecard --out "$OUT/scorecard-gpu.json"
step reference 340 python3 -m effedu reference --out-dir "$OUT"
tail -3 "$OUT/pytest.log"; grep -E "FAILED|Error" "$OUT/pytest.log" | head -20; grep -n "Restart\|Failed" "$OUT"/*.md
