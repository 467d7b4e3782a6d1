/* test_results.c: the JSON result writer (valid JSON, escaping, null for
 * non-finite and n/a values, misuse detected), provenance fields, bandwidth and
 * counters reporting (n/a with a reason, never a made-up zero). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bandwidth.h"
#include "counters.h"
#include "json.h"
#include "results.h"
#include "tb_test.h"

static tb_json *parse(const char *text) {
    tb_err e;
    tb_json *j = tb_json_parse(text, strlen(text), &e);
    if (!j) fprintf(stderr, "parse error: %s\n%s\n", e.msg, text);
    return j;
}

TB_TEST(writer_roundtrip) {
    tb_jw w;
    tb_jw_init(&w);
    tb_jw_obj_begin(&w, NULL);
    tb_jw_str(&w, "s", "quote\" backslash\\ newline\n tab\t ctrl\x01 utf8 \xc3\xa9");
    tb_jw_num(&w, "pi", 3.14159265358979);
    tb_jw_num(&w, "big", 1e300);
    tb_jw_num(&w, "int", 42);
    tb_jw_num(&w, "nan", NAN);
    tb_jw_num(&w, "inf", INFINITY);
    tb_jw_int(&w, "neg", -7);
    tb_jw_bool(&w, "t", true);
    tb_jw_null(&w, "n");
    tb_jw_str(&w, "nullstr", NULL);
    tb_jw_arr_begin(&w, "arr");
    tb_jw_int(&w, NULL, 1);
    tb_jw_obj_begin(&w, NULL);
    tb_jw_obj_end(&w);
    tb_jw_arr_begin(&w, NULL);
    tb_jw_arr_end(&w);
    tb_jw_arr_end(&w);
    tb_jw_raw(&w, "raw", "{\"x\": [1, 2]}");
    tb_jw_obj_end(&w);
    tb_err e;
    const char *text = tb_jw_text(&w, &e);
    TB_CHECK(text != NULL);
    tb_json *j = text ? parse(text) : NULL;
    TB_CHECK(j != NULL);
    if (j) {
        TB_CHECK(!strcmp(tb_json_get_str(j, "s"), "quote\" backslash\\ newline\n tab\t ctrl\x01 utf8 \xc3\xa9"));
        TB_CHECK(tb_json_get_num(j, "pi", 0) == 3.14159265358979); /* %.17g round-trips */
        TB_CHECK(tb_json_get_num(j, "big", 0) == 1e300);
        TB_CHECK(tb_json_get_num(j, "int", 0) == 42);
        TB_CHECK(tb_json_get(j, "nan")->type == TB_JSON_NULL);
        TB_CHECK(tb_json_get(j, "inf")->type == TB_JSON_NULL);
        TB_CHECK(tb_json_get_num(j, "neg", 0) == -7);
        TB_CHECK(tb_json_get(j, "t")->type == TB_JSON_BOOL && tb_json_get(j, "t")->boolean);
        TB_CHECK(tb_json_get(j, "n")->type == TB_JSON_NULL);
        TB_CHECK(tb_json_get(j, "nullstr")->type == TB_JSON_NULL);
        const tb_json *a = tb_json_get(j, "arr");
        TB_CHECK(a && a->type == TB_JSON_ARRAY && a->len == 3);
        const tb_json *raw = tb_json_get(j, "raw");
        TB_CHECK(raw && tb_json_get(raw, "x") && tb_json_get(raw, "x")->len == 2);
        tb_json_free(j);
    }
    /* save + reload */
    char path[128];
    snprintf(path, sizeof path, "/tmp/tb_test_results_%d.json", (int)getpid());
    TB_CHECK(tb_jw_save(&w, path, &e) == 0);
    char *data = NULL;
    size_t n = 0;
    TB_CHECK(tb_read_file(path, &data, &n, &e) == 0);
    TB_CHECK(data && n == strlen(text) + 1 && !memcmp(data, text, n - 1));
    free(data);
    unlink(path);
    TB_CHECK(tb_jw_save(&w, "/nonexistent-dir/x.json", &e) < 0 && strstr(e.msg, "/nonexistent-dir"));
    tb_jw_free(&w);
}

TB_TEST(writer_misuse_detected) {
    tb_err e;
    tb_jw w;
    tb_jw_init(&w);
    tb_jw_obj_begin(&w, NULL);
    tb_jw_int(&w, "a", 1);
    TB_CHECK(tb_jw_text(&w, &e) == NULL); /* unclosed */
    tb_jw_free(&w);

    tb_jw_init(&w);
    tb_jw_obj_begin(&w, NULL);
    tb_jw_int(&w, NULL, 1); /* value without key in an object */
    tb_jw_obj_end(&w);
    TB_CHECK(tb_jw_text(&w, &e) == NULL);
    tb_jw_free(&w);

    tb_jw_init(&w);
    tb_jw_arr_begin(&w, NULL);
    tb_jw_obj_end(&w); /* mismatched close */
    TB_CHECK(tb_jw_text(&w, &e) == NULL);
    tb_jw_free(&w);

    tb_jw_init(&w);
    TB_CHECK(tb_jw_text(&w, &e) == NULL); /* empty document */
    tb_jw_free(&w);
}

TB_TEST(provenance_fields) {
    tb_provenance p;
    tb_provenance_collect(&p);
    tb_jw w;
    tb_jw_init(&w);
    tb_jw_obj_begin(&w, NULL);
    tb_provenance_write(&w, "provenance", &p);
    tb_jw_obj_end(&w);
    tb_err e;
    const char *text = tb_jw_text(&w, &e);
    tb_json *j = text ? parse(text) : NULL;
    TB_CHECK(j != NULL);
    const tb_json *pv = j ? tb_json_get(j, "provenance") : NULL;
    TB_CHECK(pv != NULL);
    static const char *const req[] = {"git_sha", "compiler", "build_type", "optimization", "c_args", "cpu_model",
                                      "cpu_features", "host", "os", "date_utc", "timer"};
    for (size_t i = 0; pv && i < sizeof req / sizeof req[0]; i++) {
        const char *v = tb_json_get_str(pv, req[i]);
        TB_CHECK_MSG(v && *v, "provenance.%s missing or empty", req[i]);
    }
    if (pv) {
        TB_CHECK(tb_json_get_num(pv, "cores", 0) >= 1);
        TB_CHECK(tb_json_get(pv, "git_dirty") && tb_json_get(pv, "git_dirty")->type == TB_JSON_BOOL);
        const char *sha = tb_json_get_str(pv, "git_sha");
        /* a 40-hex sha from the source tree, or "unknown" outside a checkout */
        TB_CHECK(sha && (!strcmp(sha, "unknown") || strlen(sha) == 40));
        const char *date = tb_json_get_str(pv, "date_utc");
        TB_CHECK(date && strlen(date) == 20 && date[4] == '-' && date[10] == 'T' && date[19] == 'Z');
    }
    tb_json_free(j);
    tb_jw_free(&w);
}

TB_TEST(bandwidth_small) {
    tb_bw_result r;
    tb_err e;
    TB_CHECK(tb_bandwidth_measure(4 << 20, 2, 3, &r, &e) == 0);
    TB_CHECK(r.threads == 2 && r.reps == 3 && r.bytes == (4u << 20));
    TB_CHECK(r.gbps_min > 0 && r.gbps_min <= r.gbps_median && r.gbps_median <= r.gbps_max && isfinite(r.gbps_max));
    TB_CHECK(tb_bandwidth_measure(4 << 20, 0, 3, &r, &e) < 0);
    TB_CHECK(tb_bandwidth_measure(4 << 20, 1, 0, &r, &e) < 0);
    TB_CHECK(tb_bandwidth_measure(100, 1, 1, &r, &e) < 0);
}

TB_TEST(sizes_and_llc) {
    TB_CHECK(tb_parse_size("32768K") == 32u << 20);
    TB_CHECK(tb_parse_size("64M") == 64u << 20);
    TB_CHECK(tb_parse_size("1G") == 1u << 30);
    TB_CHECK(tb_parse_size("123") == 123);
    TB_CHECK(tb_parse_size("12Q") == 0 && tb_parse_size("") == 0 && tb_parse_size("M") == 0);
    char src[128];
    TB_CHECK(tb_llc_bytes(5 << 20, src, sizeof src) == 5u << 20 && !strcmp(src, "configured"));
    size_t v = tb_llc_bytes(0, src, sizeof src);
    TB_CHECK(v > 0 && v <= (256u << 20)); /* never the hypervisor's 508 MB */
    TB_CHECK(src[0] != 0);
}

TB_TEST(counters_never_invent_numbers) {
    tb_counters *c = NULL;
    tb_err e;
    TB_CHECK(tb_counters_open(&c, &e) == 0);
    if (!c) return;
    tb_counters_start(c);
    volatile double x = 0;
    for (int i = 0; i < 100000; i++) x += i;
    tb_counter_report r;
    tb_counters_stop(c, &r);
    tb_counters_free(c);
    TB_CHECK(r.seconds >= 0);
    if (!r.papi_ok) {
        TB_CHECK(r.n_events == 0);
        TB_CHECK(r.papi_why[0] != 0);
    } else {
        TB_CHECK(r.n_events > 0);
    }
    if (!r.cpu_energy_ok) TB_CHECK(r.cpu_energy_why[0] != 0 && r.cpu_joules == 0);
    else TB_CHECK(r.cpu_joules >= 0 && r.cpu_energy_source[0]);
    if (!r.gpu_energy_ok) TB_CHECK(r.gpu_energy_why[0] != 0);
    char line[512];
    tb_counters_describe(&r, line, sizeof line);
    TB_CHECK(strstr(line, "papi") != NULL);
    if (!r.papi_ok) TB_CHECK(strstr(line, "n/a") != NULL);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
