#!/bin/bash
# Float32 vs bfloat16 training of XY-Deblur, EHNet and ARKNet on this CPU (issue 14),
# with a seed-noise reference: each network trains in fp32 and bf16 from seed 0, and
# in fp32 from seed 1, all validated on the same degraded images (data.val_seed).
# Short budgets (64² crops; ARKNet 400 x 16, XY-Deblur 200 x 8, EHNet 50 x 4 crops, one
# validation photo for EHNet, two for XY-Deblur, four for ARKNet), about 30 min on a
# quiet 2-core CPU; run nothing else meanwhile (two jobs on two cores slowed EHNet ~5x).
# The comparison is the first stage's ("pretrain"); the second is one step only.
# Draws OUT/<net>-curves.png (docs/figures/precision-<net>.png) and prints the scores.
#   bash benchmarks/precision_training.sh [OUT]
set -x
O=${1:-runs/prec-train}; mkdir -p "$O"
COMMON="data.workers=0 data.crop=64 data.val_limit=2 data.val_seed=0 train.plot=false \
train.progress=false train.checkpoint_every=1000 stages.finetune.steps=1"
run() {  # run NAME CONFIG PRECISION SEED OVERRIDES...
  local name=$1 config=$2 precision=$3 seed=$4; shift 4
  [ -f "$O/$name/summary.json" ] && return
  rm -rf "$O/$name"
  .venv/bin/defocus train --config "$config" --out "$O/$name" $COMMON \
    train.precision="$precision" train.seed="$seed" "$@" > "$O/$name.log" 2>&1
}
ARK="data.val_limit=4 train.val_every=100 stages.pretrain.steps=400"
XY="train.batch_size=8 train.val_every=50 stages.pretrain.steps=200 optim.lr=5e-4 schedule.warmup_steps=20"
EH="train.batch_size=4 train.val_every=25 stages.pretrain.steps=50 optim.lr=5e-4 schedule.warmup_steps=5 data.val_limit=1"
for spec in "fp32 0" "bf16 0" "fp32 1"; do
  set -- $spec
  run "xy-$1-s$2" configs/xy_deblur.toml "$1" "$2" $XY
  run "ehnet-$1-s$2" configs/ehnet.toml "$1" "$2" $EH
  run "arknet-$1-s$2" configs/arknet_cpu.toml "$1" "$2" $ARK
done
for net in xy ehnet arknet; do
  .venv/bin/python benchmarks/plot_training_curves.py "$O/$net"-*/ --stage pretrain \
    --out "$O/$net-curves.png"
done
