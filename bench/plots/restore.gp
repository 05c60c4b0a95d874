# Restore of a wiped instance next to a plain consumer reading the same changelog from
# the same broker (bench/restore.sh): records per second. Medians.
# needs: restore/restore.tsv
# Run by render.sh: gnuplot -e "data='DIR'; out='FILE.png'; dir='PLOTS'" restore.gp
load dir."/terminal.gp"
set title "Restore vs raw read of the same changelog (medians)" noenhanced
set ylabel "records / s"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.6
set xtics noenhanced
set key off
stats data."/restore.tsv" using 2 nooutput
set yrange [0:STATS_max * 1.15]
plot data."/restore.tsv" using 2:xtic(1) lc rgb "#4477aa", \
     "" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8 font ",9"
