# Shared by the plot scripts (`load`ed): the PNG terminal, pngcairo where gnuplot has
# it (gnuplot-nox does), else libgd's png. Expects `out`, the PNG path.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
  set terminal pngcairo size 900,540 enhanced font "sans,10"
} else {
  set terminal png size 900,540
}
set output out
set grid ytics lc rgb "#dddddd"
set key noenhanced
# Every TSV starts with a header line.
set datafile columnheaders
