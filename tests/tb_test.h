/* tb_test.h: a tiny test framework for C tests.
 *
 *   TB_TEST(name) { TB_CHECK(x == 1); TB_CHECK_EQ_INT(a, b); }
 *   int main(int argc, char **argv) { return tb_test_run(argc, argv); }   // runs every registered test
 *
 *   int main(int argc, char **argv) { return tb_test_run(argc, argv); }  // or only those named
 *
 * A test binary exits 1 if a check failed, else 77 (meson's SKIP) if any test it ran
 * called TB_SKIP (partial skips are skips, never passes), else 0.
 */
#ifndef TB_TEST_H
#define TB_TEST_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*tb_test_fn)(void);
#define TB_MAX_TESTS 256
static struct { const char *name; tb_test_fn fn; } tb_tests_[TB_MAX_TESTS];
static int tb_n_tests_, tb_failed_checks_, tb_skipped_;

#define TB_TEST(tname)                                                      \
    static void tname(void);                                                \
    __attribute__((constructor)) static void tb_reg_##tname(void) {         \
        if (tb_n_tests_ < TB_MAX_TESTS) {                                   \
            tb_tests_[tb_n_tests_].name = #tname;                           \
            tb_tests_[tb_n_tests_++].fn = tname;                            \
        }                                                                   \
    }                                                                       \
    static void tname(void)

#define TB_CHECK(cond)                                                                    \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            tb_failed_checks_++;                                                          \
        }                                                                                 \
    } while (0)

#define TB_CHECK_MSG(cond, ...)                                                           \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
            tb_failed_checks_++;                                                          \
        }                                                                                 \
    } while (0)

#define TB_CHECK_EQ_INT(a, b)                                                             \
    do {                                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);                               \
        if (a_ != b_) {                                                                   \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, \
                    #a, #b, a_, b_);                                                      \
            tb_failed_checks_++;                                                          \
        }                                                                                 \
    } while (0)

#define TB_CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                                  \
        double a_ = (double)(a), b_ = (double)(b);                                        \
        if (!(fabs(a_ - b_) <= (tol))) {                                                  \
            fprintf(stderr, "%s:%d: |%s - %s| <= %s failed: %.9g vs %.9g\n", __FILE__,    \
                    __LINE__, #a, #b, #tol, a_, b_);                                      \
            tb_failed_checks_++;                                                          \
        }                                                                                 \
    } while (0)

#define TB_SKIP(...)                                                                      \
    do {                                                                                  \
        fprintf(stderr, "SKIP: ");                                                        \
        fprintf(stderr, __VA_ARGS__);                                                     \
        fputc('\n', stderr);                                                              \
        tb_skipped_++;                                                                    \
        return;                                                                           \
    } while (0)

/* Runs the registered tests selected by argv[1..] (all of them when none is given): an
 * argument is a test name, or a prefix ending in '*'; one starting with '!' excludes.
 * A test that called TB_SKIP is SKIP, not ok.  Exit status: 1 if any test failed or an
 * argument selects nothing; else 77 (meson's SKIP) if ANY selected test skipped, so a
 * binary that skipped part of its work is never reported as passed; else 0.  To run an
 * ISA- or GPU-dependent part on its own, register it as its own meson test with the
 * test's name as argument (and exclude it from the rest with '!name'). */
static inline bool tb_test_match_(const char *pat, const char *name) {
    const size_t n = strlen(pat);
    if (n && pat[n - 1] == '*') return strncmp(pat, name, n - 1) == 0;
    return strcmp(pat, name) == 0;
}

static inline bool tb_test_chosen_(int argc, char **argv, const char *name) {
    bool any_include = false, in = false;
    for (int a = 1; a < argc; a++) {
        const bool ex = argv[a][0] == '!';
        if (ex && tb_test_match_(argv[a] + 1, name)) return false;
        if (!ex) any_include = true, in |= tb_test_match_(argv[a], name);
    }
    return in || !any_include;
}

static inline int tb_test_run(int argc, char **argv) {
    int ran = 0, failed = 0, skipped = 0;
    for (int a = 1; a < argc; a++) {
        int hits = 0;
        const char *pat = argv[a][0] == '!' ? argv[a] + 1 : argv[a];
        for (int i = 0; i < tb_n_tests_; i++) hits += tb_test_match_(pat, tb_tests_[i].name);
        if (!hits) {
            fprintf(stderr, "no test matches %s in this binary\n", argv[a]);
            return 1;
        }
    }
    for (int i = 0; i < tb_n_tests_; i++) {
        if (!tb_test_chosen_(argc, argv, tb_tests_[i].name)) continue;
        const int before = tb_failed_checks_, skips = tb_skipped_;
        tb_tests_[i].fn();
        const bool f = tb_failed_checks_ != before, s = !f && tb_skipped_ != skips;
        failed += f;
        skipped += s;
        ran++;
        printf("%-4s %s\n", f ? "FAIL" : s ? "SKIP" : "ok", tb_tests_[i].name);
    }
    printf("%d tests: %d passed, %d failed, %d skipped\n", ran, ran - failed - skipped, failed, skipped);
    if (failed || !ran) return 1;
    return skipped ? 77 : 0;
}

static inline int tb_test_main(void) {
    char *argv[] = {"test", NULL};
    return tb_test_run(1, argv);
}

#endif
