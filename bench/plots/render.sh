#!/usr/bin/env bash
# Renders every plot in bench/plots/ whose data exists into docs/img/<plot>.png.
#   DATA  root of the bench output (default bench/out)
#   IMG   where the PNGs go (default docs/img)
# A plot script names its data on a line `# needs: SUBDIR/FILE` (a glob is fine),
# relative to DATA; it is rendered when that matches a file, with gnuplot variables
# data=DATA/SUBDIR, out=IMG/<script name>.png and dir=bench/plots (for terminal.gp).
# To add a plot: a new .gp file with a `# needs:` line that reads TSVs with a header.
set -euo pipefail
plots="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$plots/../.." && pwd)"
data_root="${DATA:-$repo/bench/out}"
img="${IMG:-$repo/docs/img}"
mkdir -p "$img"
shopt -s nullglob
rendered=0
for script in "$plots"/*.gp; do
  needs=$(sed -n 's/^# needs: *//p' "$script" | head -1)
  [[ -n "$needs" ]] || continue  # a shared fragment (terminal.gp)
  # Existing files only: nullglob drops an unmatched pattern, but a plain path is kept
  # whether or not it exists (and gnuplot would then write an empty plot over the PNG).
  matches=()
  for m in "$data_root"/$needs; do [[ -e "$m" ]] && matches+=("$m"); done
  if ((${#matches[@]} == 0)); then
    echo "skip $(basename "$script"): no $data_root/$needs"
    continue
  fi
  png="$img/$(basename "$script" .gp).png"
  gnuplot -e "data='$data_root/$(dirname "$needs")'; out='$png'; dir='$plots'" "$script"
  echo "wrote $png"
  rendered=$((rendered + 1))
done
echo "rendered $rendered plot(s)"
