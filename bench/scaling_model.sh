#!/bin/sh
# The scaling model of the preset's data-parallel DenseCL pretraining over
# N machines (README.md, "Data-parallel pretraining"): prints one Markdown
# table of the predicted step time and efficiency for N = 1 to 64 machines
# on 10 and 100 Gbit/s links.
#
#   T(N) = C / N + A (N - 1) / N / bw + L(N) + max(0, R (N - 1) / N / bw - H / N)
#   efficiency = C / (N T(N))
#
# C: a step's compute on one machine (seconds; measured by run_ranks.sh,
# 1 rank x 2 threads); A: the bytes each step all-gathers (key images, key
# C5 maps, keys: on the forward's path, not hidden); R: twice the
# gradients' bytes (a ring allreduce moves 2 (N - 1) / N of them, hidden
# behind the backward's share H of the compute); L(N): the collectives'
# latencies, K_ring rings of N - 1 hops and K_small small collectives of
# 2 log2 N hops, alpha a hop. The bytes come from the preset (global batch
# 256, 64 px, C5 128 x 8 x 8, D 128, 3.06 MB of gradients); alpha is an
# assumption (25 us a TCP hop on 10 Gbit/s Ethernet, 10 us on 100 Gbit/s).
#
# usage: bench/scaling_model.sh [--compute 1.76] [--backward-share 0.4]
. "$(dirname "$0")/../tools/script_help.sh"
compute=1.76
share=0.4
while [ $# -gt 0 ]; do
    case $1 in
        --compute) compute=$2; shift 2 ;;
        --backward-share) share=$2; shift 2 ;;
        *) echo "usage: bench/scaling_model.sh [--compute 1.76] [--backward-share 0.4]" >&2; exit 2 ;;
    esac
done
awk -v C="$compute" -v H="$share" 'BEGIN {
    B = 256
    A = B * (3 * 64 * 64 * 4 + 128 * 8 * 8 * 4 + 2 * 128 * 4)   # key images, key C5 maps, g_k and p_k
    R = 2 * 3.06e6
    K_ring = 4; K_small = 12
    print "| machines | 10 Gbit/s: step s | efficiency | 100 Gbit/s: step s | efficiency |"
    print "| --- | --- | --- | --- | --- |"
    for (N = 1; N <= 64; N *= 2) {
        line = "| " N
        for (link = 0; link < 2; link++) {
            bw = link ? 12.5e9 : 1.25e9; alpha = link ? 10e-6 : 25e-6
            f = (N - 1) / N; lg = log(N) / log(2)
            lat = N > 1 ? (K_ring * (N - 1) + K_small * 2 * lg) * alpha : 0
            exposed_grads = R * f / bw - H * C / N; if (exposed_grads < 0) exposed_grads = 0
            T = C / N + A * f / bw + lat + exposed_grads
            line = line sprintf(" | %.4f | %.0f%%", T, 100 * C / (N * T))
        }
        print line " |"
    }
    printf "\nall-gathered %.2f MB and gradients %.2f MB a step (global batch %d)\n", A / 1e6, R / 2e6, B
}'
