/* test_hash.c: SHA-256 against the FIPS 180-4 / NIST example vectors (empty, "abc",
 * the two-block 448-bit message, one million 'a' fed in uneven pieces so every
 * buffering path runs), tb_sha256_file against the same digest, and FNV-1a 64
 * against its published test vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_hash.h"
#include "tb_test.h"

static void digest(const void *p, size_t n, char hex[65]) {
    tb_sha256 s;
    uint8_t d[32];
    tb_sha256_init(&s);
    tb_sha256_update(&s, p, n);
    tb_sha256_final(&s, d);
    tb_sha256_hex(d, hex);
}

TB_TEST(sha256_nist_vectors) {
    char h[65];
    digest("", 0, h);
    TB_CHECK(!strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    digest("abc", 3, h);
    TB_CHECK(!strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    digest(m, strlen(m), h);
    TB_CHECK(!strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

TB_TEST(sha256_million_a_in_pieces) {
    static char a[1000000];
    memset(a, 'a', sizeof a);
    tb_sha256 s;
    tb_sha256_init(&s);
    size_t off = 0, step = 1;
    while (off < sizeof a) { /* 1, 2, 3, ... 130 bytes: every fill level of the block buffer */
        size_t n = step < sizeof a - off ? step : sizeof a - off;
        tb_sha256_update(&s, a + off, n);
        off += n;
        step = step % 130 + 1;
    }
    uint8_t d[32];
    char h[65];
    tb_sha256_final(&s, d);
    tb_sha256_hex(d, h);
    TB_CHECK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));

    char path[] = "/tmp/tb_hash_XXXXXX";
    int fd = mkstemp(path);
    TB_CHECK(fd >= 0);
    if (fd < 0) return;
    TB_CHECK(write(fd, a, sizeof a) == (ssize_t)sizeof a);
    close(fd);
    char hf[65];
    tb_err e;
    TB_CHECK_EQ_INT(tb_sha256_file(path, hf, &e), 0);
    TB_CHECK(!strcmp(hf, h));
    unlink(path);
    TB_CHECK(tb_sha256_file(path, hf, &e) < 0 && strstr(e.msg, "cannot open"));
}

TB_TEST(fnv1a64_vectors) {
    TB_CHECK(tb_fnv64(TB_FNV64_INIT, "", 0) == 0xcbf29ce484222325ull);
    TB_CHECK(tb_fnv64(TB_FNV64_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
    TB_CHECK(tb_fnv64(TB_FNV64_INIT, "foobar", 6) == 0x85944171f73967e8ull);
    /* incremental = one shot */
    TB_CHECK(tb_fnv64(tb_fnv64(TB_FNV64_INIT, "foo", 3), "bar", 3) == 0x85944171f73967e8ull);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
