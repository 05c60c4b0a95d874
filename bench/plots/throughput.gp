# Requests decided per second, per system (bench/compare_redis.sh): Redis closed loops
# at their maximum, couponflow and the passthrough reading a preloaded backlog, and the
# rate the fixed-rate latency runs achieved. Medians over the runs.
# needs: compare_redis/throughput.tsv
# Run by render.sh: gnuplot -e "data='DIR'; out='FILE.png'; dir='PLOTS'" throughput.gp
load dir."/terminal.gp"
set title "Throughput, same workload (medians)" noenhanced
set ylabel "requests / s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -25 noenhanced
stats data."/throughput.tsv" using 2 nooutput
set xrange [-0.6:STATS_records - 0.4]
set yrange [0:STATS_max * 1.12]
set key off
plot data."/throughput.tsv" using 2:xtic(1) lc rgb "#4477aa", \
     "" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8 font ",9"
