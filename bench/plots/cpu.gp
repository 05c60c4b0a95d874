# CPU time per record of the processor (per decision), of the tuned passthrough and of
# the passthrough shaped like the processor's outputs (librdkafka's part alone), on the
# same broker and input, each process measured alone (bench/cpu.sh). Medians.
# needs: cpu/cpu.tsv
# Run by render.sh: gnuplot -e "data='DIR'; out='FILE.png'; dir='PLOTS'" cpu.gp
load dir."/terminal.gp"
set title "CPU per record, user + system (medians)" noenhanced
set ylabel "microseconds of CPU per record"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.6
set xtics noenhanced
set key off
stats data."/cpu.tsv" using 2 nooutput
set yrange [0:STATS_max * 1.2]
plot data."/cpu.tsv" using 2:xtic(1) lc rgb "#4477aa", \
     "" using 0:2:(sprintf("%.2f us", $2)) with labels offset 0,0.8 font ",9"
