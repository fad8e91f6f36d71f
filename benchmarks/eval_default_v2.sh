#!/bin/bash
# The default model's acceptance figures (issue 16), one after the other (~35 min on
# the 2-core CPU): real CUHK photos 0401-0500, held-out HR photos with uniform disks,
# the depth, lens and defocus protocols (12 images per dataset; defocus 8), disks
# r = 16 and 24 on the held-out photos at 4 MP (~8 min more), the tiled/whole check, and
# r = 16 behind a sharp half. v1 and the classical
# baselines run alongside where the figure compares with them.
#   bash benchmarks/eval_default_v2.sh WEIGHTS [OUT]   (WEIGHTS: name or .safetensors)
set -x
W=${1:-wiener-unet-defocus-v2}; O=${2:-runs/eval_default_v2}; mkdir -p $O
export OMP_NUM_THREADS=2
HR=../shared/data/train/HR-photos
HELD="$HR/greentock_by_Peter_Nerlich.jpg $HR/life_by_Aitzol_Berasategi.jpg $HR/picosdeeuropa_by_Aitzol_Berasategi.jpg $HR/seeding_by_Clements_Engelhardt.jpg $HR/summer_1am.jpg $HR/sunset_by_Aitzol_Berasategi.jpg"
.venv/bin/python benchmarks/eval_real_photos.py --model $W --csv $O/real.csv --gallery $O/real-gallery.png > $O/real.txt 2>&1
.venv/bin/python benchmarks/eval_unseen_photos.py $HELD --methods blurry,wiener-blind,model:wiener-unet-defocus-v1,model:$W > $O/unseen.txt 2>&1
.venv/bin/defocus evaluate --protocol depth --data ../shared/data/test --limit 12 --methods blurry,wiener-blind,model:wiener-unet-defocus-v1,model:$W --baseline wiener-blind --metrics psnr,ssim,q --out $O/depth > $O/depth.txt 2>&1
.venv/bin/defocus evaluate --protocol lens --data ../shared/data/test --limit 12 --methods blurry,wiener-blind,model:wiener-unet-defocus-v1,model:$W --baseline wiener-blind --metrics psnr,ssim,q --out $O/lens > $O/lens.txt 2>&1
.venv/bin/defocus evaluate --protocol defocus --data ../shared/data/test --limit 8 --methods blurry,wiener-oracle,wiener-blind,model:wiener-unet-defocus-v1,model:$W --baseline wiener-blind --metrics psnr,ssim,q --out $O/defocus > $O/defocus.txt 2>&1
.venv/bin/python benchmarks/eval_large_blur.py $HELD --radius 16 --radius 24 --model wiener-unet-defocus-v1 --model $W > $O/large.txt 2>&1
.venv/bin/python benchmarks/eval_large_blur.py $HR/summer_1am.jpg --model $W --tiles > $O/large-tiles.txt 2>&1
.venv/bin/python benchmarks/eval_large_blur.py $HR/greentock_by_Peter_Nerlich.jpg --model $W --half > $O/large-half.txt 2>&1
echo done > $O/DONE
