#!/usr/bin/env bash
# The main job on the shipped default (Fashion-MNIST sample inside the package, no download):
# train an MLP SNN (early burst, T = 8, temporal loss) -> export to NetX -> run with early exit on
# the emulator and on Lava's simulator -> hardware fit and energy report. A few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ND=.venv/bin/neurodeploy
OUT=${DEMO_OUT:-runs/demo}
mkdir -p "$OUT"

$ND train --dataset fashion-mnist --model mlp --encoding early_burst --steps 8 --loss temporal \
          --epochs "${DEMO_EPOCHS:-20}" --batch-size 64 --lr 0.002 --seed 0 --out "$OUT/run"
$ND export "$OUT/run" --out "$OUT/model.net"
$ND info "$OUT/model.net" | tail -n 7
$ND run "$OUT/model.net" --backend emu --exit margin:2,min=2 --out "$OUT/results_emu.json"
$ND run "$OUT/model.net" --backend sim --exit margin:2,min=2 --limit 100 --out "$OUT/results_sim.json"
$ND fit "$OUT/model.net" --target loihi2
$ND report "$OUT/model.net" --target loihi2 --exit margin:2,min=2 --out "$OUT/report"
echo "demo done: see $OUT/report/report.md"
