#!/usr/bin/env bash
# CUDA check: runs the user-facing commands on a GPU and measures its throughput, in about 7 minutes.
#
#   bash benchmarks/cuda_check.sh OUT_DIR        # needs `domainssl` installed and one CUDA device
#
# 1. model-only step speed of each SSL method (fp32 / channels_last / bf16), batch 128 at 64x64;
# 2. `domainssl pretrain` end to end (synthetic ToF world, data loader workers, bf16 autocast):
#    BYOL at the benchmark's pretraining config (batch 128, 64x64 views), 300 steps;
# 3. every fine-tuning recipe on the GPU from that export (segmentation, detection, classification),
#    and a 3D CT pretraining run into the 3D volume recipe;
# 4. `domainssl eval knn` (it picks CUDA when present) and the test suite with CUDA visible.
# Each step is time-limited and logged to OUT_DIR/log.txt; a failing step does not stop the next.
set -u
OUT=${1:?usage: bash benchmarks/cuda_check.sh OUT_DIR}
mkdir -p "$OUT"
RUNS=$(mktemp -d)
LOG="$OUT/log.txt"
WORKERS=$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))

step() {  # step NAME SECONDS COMMAND...: run, time and log one check
    local name=$1 limit=$2; shift 2
    echo "=== $name: $*" | tee -a "$LOG"
    local start=$SECONDS
    timeout "$limit" "$@" 2>&1 | tr '\r' '\n' | grep -v -E '^\s*$|\| *[0-9]+/[0-9]+ \[' | tail -n 25 | tee -a "$LOG"
    echo "=== $name: exit ${PIPESTATUS[0]} after $(( SECONDS - start )) s" | tee -a "$LOG"
}

step info 60 domainssl info
step step_speed 120 python3 benchmarks/step_speed.py --device cuda --batch 128 --size 64 --steps 20 --warmup 5
step pretrain_byol 180 domainssl pretrain --modality tof --method byol --device cuda --steps 300 --batch-size 128 \
    --num-workers "$WORKERS" --out "$RUNS/byol" --quiet
sed -n '1p;$p' "$RUNS/byol/metrics.csv" | tee -a "$LOG"
EXPORT="$RUNS/byol/export"
for recipe in tof_segmentation tof_detection tof_classification; do
    step "finetune_$recipe" 150 domainssl finetune "recipes/finetune/$recipe.yaml" --weights "$EXPORT" \
        --device cuda --steps 100 --set train.precision=bf16 --out "$RUNS/ft_$recipe"
done
step pretrain_ct3d 150 domainssl pretrain --modality ct --set modality.volume_mode=3d --device cuda --steps 30 \
    --num-workers "$WORKERS" --out "$RUNS/ct3d" --quiet
step finetune_volume_3d 150 domainssl finetune recipes/finetune/volume_segmentation_3d.yaml \
    --weights "$RUNS/ct3d/export" --device cuda --steps 30 --out "$RUNS/ft_volume"
step synth_object 60 domainssl synth tof --out "$RUNS/object" --n 600 --scene object --size 128x96
step knn 60 domainssl eval knn --weights "$EXPORT" --data "$RUNS/object"
step pytest 200 python3 -m pytest -p no:cacheprovider -n 8 tests
