set terminal pngcairo size 1600,650 noenhanced font ',10'
set bmargin 5
set output 'results/20261205T194701/plot.png'
set title 'FlowPlane vs Linux bridge vs trivial XDP redirect (receiver rate, Mpps, median)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'Mpps at the receivers'
set grid ytics
set key top right
set logscale y
plot 'results/20261205T194701/plot.dat' using 2:xtic(1) title 'FlowPlane', '' using 3 title 'Linux bridge', '' using 4 title 'XDP redirect (limit)'
