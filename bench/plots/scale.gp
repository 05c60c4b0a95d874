# Decisions/s of one processor instance as the partitions grow, next to the passthrough
# on the same broker and input, and one hot coupon's ceiling (bench/scale.sh). Medians.
# needs: scale/scale.tsv
# Run by render.sh: gnuplot -e "data='DIR'; out='FILE.png'; dir='PLOTS'" scale.gp
load dir."/terminal.gp"
set title "Records/s by partitions (one instance, one stream thread; medians)" noenhanced
set ylabel "records / s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics noenhanced
set key top left
set yrange [0:*]
plot data."/scale.tsv" using 4:xtic(1) title "couponflow (decisions/s)" lc rgb "#4477aa", \
     "" using 6 title "passthrough (records/s)" lc rgb "#bbbbbb"
