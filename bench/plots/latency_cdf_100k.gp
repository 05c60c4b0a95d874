# The same at a fixed 100,000 requests/s (OUT=bench/out/compare_redis_100k LATENCY_RATE=100000
# AOF=0 bench/compare_redis.sh): each file
# cdf-<system>.tsv is the run with the median p99. Log x: Redis answers in
# microseconds, a Kafka round trip in milliseconds.
# needs: compare_redis_100k/cdf-*.tsv
# Run by render.sh: gnuplot -e "data='DIR'; out='FILE.png'; dir='PLOTS'" latency_cdf.gp
load dir."/terminal.gp"
set title "Latency at 100,000 requests/s, request sent to answer read (CDF)" noenhanced
set xlabel "latency (ms, log scale)"
set ylabel "fraction of requests"
set logscale x
set yrange [0:1]
set ytics 0.1
set grid xtics ytics lc rgb "#dddddd"
set key top left reverse Left
files = system("ls ".data."/cdf-*.tsv")
name(f) = f[strstrt(f, "/cdf-") + 5:strlen(f) - 4]
plot for [f in files] f using ($1 > 0 ? $1 : 0.001):2 with lines lw 2 title name(f)
