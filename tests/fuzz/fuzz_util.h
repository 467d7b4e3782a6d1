/* fuzz_util.h: helpers shared by the libFuzzer targets: a private scratch directory
 * (on /dev/shm when there is one) and writing the fuzz input to a file there, since
 * the loaders under test read files by path. */
#ifndef TB_FUZZ_UTIL_H
#define TB_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A per-process directory, created once; removed at exit. */
static char fz_dir[256];

static void fz_cleanup(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
    if (fz_dir[0] && system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fz_dir);
}

static const char *fz_scratch(void) {
    if (fz_dir[0]) return fz_dir;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(fz_dir, sizeof fz_dir, "%s/tb-fuzz-%ld", base, (long)getpid());
    if (mkdir(fz_dir, 0700) != 0) {
        perror(fz_dir);
        abort();
    }
    atexit(fz_cleanup);
    return fz_dir;
}

/* Writes data[0..n) to <scratch>/name and returns the path (static buffer). */
static const char *fz_write(const char *name, const uint8_t *data, size_t n) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fz_scratch(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

#endif
