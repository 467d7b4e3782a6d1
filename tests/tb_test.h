/* tb_test.h: a tiny test framework for C tests.
 *
 *   TB_TEST(name) { TB_CHECK(x == 1); TB_CHECK_EQ_INT(a, b); }
 *   int main(void) { return tb_test_main(); }   // runs every registered test
 *
 * A test binary exits 0 if every check passed, 1 otherwise, 77 (meson's SKIP)
 * if a test called TB_SKIP and nothing failed.
 */
#ifndef TB_TEST_H
#define TB_TEST_H

#include <math.h>
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

static inline int tb_test_main(void) {
    int failed_tests = 0;
    for (int i = 0; i < tb_n_tests_; i++) {
        int before = tb_failed_checks_, skipped = tb_skipped_;
        tb_tests_[i].fn();
        const char *st = tb_failed_checks_ != before ? "FAIL" : tb_skipped_ != skipped ? "SKIP" : "ok";
        if (tb_failed_checks_ != before) failed_tests++;
        printf("%-4s %s\n", st, tb_tests_[i].name);
    }
    printf("%d tests, %d failed, %d skipped\n", tb_n_tests_, failed_tests, tb_skipped_);
    if (failed_tests) return 1;
    if (tb_skipped_ && tb_skipped_ == tb_n_tests_) return 77;
    return 0;
}

#endif
