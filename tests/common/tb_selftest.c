/* tb_selftest.c: a test binary for test_tb_test.py (not a test by itself): one test that
 * passes, one that skips, one that fails, one that skips after a failed check. */
#include "../tb_test.h"

TB_TEST(passes) { TB_CHECK_EQ_INT(1 + 1, 2); }
TB_TEST(skips) { TB_SKIP("no such hardware here"); }
TB_TEST(fails) { TB_CHECK_EQ_INT(1 + 1, 3); }
TB_TEST(fails_then_skips) {
    TB_CHECK(0);
    TB_SKIP("a skip after a failed check is still a failure");
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
