# Backlog (requests sent minus answered, sampled every 100 ms) over a fixed-rate run,
# couponflow next to the passthrough (bench/compare_redis.sh, the median-p99 run).
# needs: compare_redis/backlog-*.tsv
# Run by render.sh: gnuplot -e "data='DIR'; out='FILE.png'; dir='PLOTS'" backlog.gp
load dir."/terminal.gp"
set title "Backlog at a fixed rate (sent - answered)" noenhanced
set xlabel "seconds since the first request"
set ylabel "requests"
set yrange [0:*]
set key top right
files = system("ls ".data."/backlog-*.tsv")
name(f) = f[strstrt(f, "/backlog-") + 9:strlen(f) - 4]
plot for [f in files] f using 1:4 with lines lw 2 title name(f)
