/* cmd_bandwidth.c: `ternbench bandwidth`: STREAM-like read bandwidth at each
 * thread count (median of repetitions), the roofline of every GB/s figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bandwidth.h"
#include "bench.h"
#include "cli.h"
#include "driver.h"
#include "results.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench bandwidth [--threads LIST] [--bytes SIZE] [--reps N] [--json PATH]\n\n"
            "Reads a buffer several times the last-level cache with 1..N pinned threads and reports\n"
            "the median (and min/max) GB/s (1 GB = 1e9 bytes) over the repetitions.\n"
            "  --threads LIST   e.g. 1,2,4 or '1 2 4'; 0 = all cores (default: 1, 2, 4, ... up to the core count)\n"
            "  --bytes SIZE     buffer size, e.g. 512M (default: max(4 x LLC, 256M))\n"
            "  --reps N         repetitions after one warm-up pass (default 7)\n"
            "  --json PATH      write the results with provenance\n");
}

int tb_cmd_bandwidth(int argc, char **argv) {
    const char *tl = NULL, *bytes_s = NULL, *reps_s = NULL, *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        const char **dst = !strcmp(argv[i], "--threads") ? &tl
                           : !strcmp(argv[i], "--bytes") ? &bytes_s
                           : !strcmp(argv[i], "--reps")  ? &reps_s
                           : !strcmp(argv[i], "--json")  ? &json
                                                         : NULL;
        if (!dst) {
            fprintf(stderr, "ternbench bandwidth: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        }
        if (!(*dst = tb_arg_value(argc, argv, &i))) return 2;
    }
    int threads[64], nt = 0;
    tb_err e;
    if (tl) {
        if ((nt = tb_cli_thread_list("bandwidth", tl, threads, 64)) < 0) return 2;
    } else {
        nt = tb_bench_default_threads(tb_ncores(), threads, 64);
    }
    char src[160];
    size_t llc = tb_llc_bytes(0, src, sizeof src);
    size_t bytes = llc * 4 > (256u << 20) ? llc * 4 : (256u << 20);
    if (bytes_s && !(bytes = tb_parse_size(bytes_s))) {
        fprintf(stderr, "ternbench bandwidth: bad --bytes '%s' (e.g. 512M)\n", bytes_s);
        return 2;
    }
    int reps = 7;
    if (reps_s) {
        char *end;
        long r = strtol(reps_s, &end, 10);
        if (*end || r < 1 || r > 1000) {
            fprintf(stderr, "ternbench bandwidth: bad --reps '%s' (1..1000)\n", reps_s);
            return 2;
        }
        reps = (int)r;
    }
    if (json && tb_cli_out_file("bandwidth", "--json", json, false)) return 2;
    tb_bw_result res[64];
    printf("buffer %zu MiB (LLC %zu MiB: %s), %d repetitions\n", bytes >> 20, llc >> 20, src, reps);
    printf("%8s %12s %10s %10s\n", "threads", "GB/s median", "min", "max");
    for (int i = 0; i < nt; i++) {
        if (tb_bandwidth_measure(bytes, threads[i], reps, &res[i], &e) < 0) {
            tb_cli_err(e.msg);
            return 1;
        }
        printf("%8d %12.2f %10.2f %10.2f\n", threads[i], res[i].gbps_median, res[i].gbps_min, res[i].gbps_max);
        fflush(stdout);
    }
    if (json) {
        tb_jw w;
        tb_jw_begin_result(&w, "ternbench bandwidth");
        tb_jw_num(&w, "llc_bytes", (double)llc);
        tb_jw_str(&w, "llc_source", src);
        tb_bw_write(&w, "bandwidth", res, nt);
        tb_jw_obj_end(&w);
        int rc = tb_jw_save(&w, json, &e);
        tb_jw_free(&w);
        if (rc < 0) {
            tb_cli_err(e.msg);
            return 1;
        }
    }
    return 0;
}
