/* tb_common.c: errors, half floats, PRNG, timing, file mapping. */
#include "tb_common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int tb_fail(tb_err *e, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- half precision ---------------------------------------------------- */
static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float tb_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return u2f(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    if (exp == 31) return u2f(sign | 0x7f800000u | (man << 13));
    return u2f(sign | ((exp + 112u) << 23) | (man << 13));
}

uint16_t tb_f32_to_f16(float f) {
    uint32_t u = f2u(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t absu = u & 0x7fffffffu;
    if (absu >= 0x7f800000u) /* inf or nan */
        return sign | 0x7c00u | (absu > 0x7f800000u ? 0x200u : 0);
    if (absu >= 0x477ff000u) return sign | 0x7c00u; /* rounds to >= 65520: inf */
    if (absu < 0x38800000u) {                       /* below 2^-14: subnormal or zero */
        /* round(|f| / 2^-24) with ties to even, done in float exactly */
        float a = u2f(absu) * 16777216.0f; /* exact scaling by 2^24 */
        float r = nearbyintf(a);           /* default rounding mode: nearest-even */
        return sign | (uint16_t)r;
    }
    uint32_t exp = (absu >> 23) - 112u, man = absu & 0x7fffffu;
    uint32_t h = (exp << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
    return sign | (uint16_t)h;
}

float tb_bf16_to_f32(uint16_t h) { return u2f((uint32_t)h << 16); }

uint16_t tb_f32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet nan */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* ---- PRNG -------------------------------------------------------------- */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
void tb_rng_seed(tb_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
uint64_t tb_rng_next(tb_rng *r) {
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return res;
}
uint32_t tb_rng_below(tb_rng *r, uint32_t n) {
    return (uint32_t)(((tb_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}
double tb_rng_uniform(tb_rng *r) { return (double)(tb_rng_next(r) >> 11) * 0x1.0p-53; }
double tb_rng_normal(tb_rng *r) {
    double u1 = tb_rng_uniform(r), u2 = tb_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- time -------------------------------------------------------------- */
double tb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- files ------------------------------------------------------------- */
int tb_map_file(const char *path, tb_map *m, tb_err *e) {
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tb_fail(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return tb_fail(e, "%s: cannot stat: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tb_fail(e, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return tb_fail(e, "%s: file is empty", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return tb_fail(e, "%s: mmap failed: %s", path, strerror(errno));
    m->data = p;
    m->size = (size_t)st.st_size;
    return 0;
}

void tb_unmap(tb_map *m) {
    if (m->data) munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

int tb_read_file(const char *path, char **data, size_t *size, tb_err *e) {
    *data = NULL;
    if (size) *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return tb_fail(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return tb_fail(e, "%s: cannot stat: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        return tb_fail(e, "%s: is a directory, not a file", path);
    }
    /* a regular file's size is known; a pipe or device (e.g. /dev/stdin) is read to its end */
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return tb_fail(e, "%s: out of memory (%zu bytes)", path, cap);
    }
    for (;;) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1) break; /* end of file or error */
        const int c = fgetc(f);  /* buffer full: is there more? (a regular file usually ends here) */
        if (c == EOF) break;
        if (cap > SIZE_MAX / 2) {
            free(buf);
            fclose(f);
            return tb_fail(e, "%s: file too large", path);
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            fclose(f);
            return tb_fail(e, "%s: out of memory (%zu bytes)", path, cap * 2);
        }
        buf = nb;
        cap *= 2;
        buf[n++] = (char)c;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return tb_fail(e, "%s: read error", path);
    }
    fclose(f);
    buf[n] = 0;
    *data = buf;
    if (size) *size = n;
    return 0;
}

void *tb_alloc(size_t size) {
    void *p = NULL;
    if (size == 0) size = 64;
    size = (size + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, size) != 0) return NULL;
    return p;
}
void tb_free(void *p) { free(p); }

bool tb_hugepages_wanted(void) {
    const char *no = getenv("TB_NO_HUGEPAGES");
    return !(no && *no && strcmp(no, "0"));
}

void *tb_alloc_huge(size_t size) {
    if (size == 0) size = 64;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (tb_hugepages_wanted()) madvise(p, size, MADV_HUGEPAGE); /* best effort */
    return p;
}

void tb_free_huge(void *p, size_t size) {
    if (p) munmap(p, size ? size : 64);
}

int tb_parse_int_list(const char *s, int32_t **out, tb_err *e) {
    *out = NULL;
    if (!s || !*s) return tb_fail(e, "empty token list");
    int cap = 16, n = 0;
    int32_t *v = malloc(sizeof *v * (size_t)cap);
    if (!v) return tb_fail(e, "out of memory");
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < INT32_MIN || x > INT32_MAX) {
            free(v);
            return tb_fail(e, "bad integer list near '%.20s'", p);
        }
        if (n == cap) {
            cap *= 2;
            int32_t *nv = realloc(v, sizeof *v * (size_t)cap);
            if (!nv) { free(v); return tb_fail(e, "out of memory"); }
            v = nv;
        }
        v[n++] = (int32_t)x;
        p = end;
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',') { /* items are separated by commas, white space, or both */
            p++;
            while (isspace((unsigned char)*p)) p++;
            if (!*p) { /* "1,2," */
                free(v);
                return tb_fail(e, "empty item after the last ',' in '%.40s'", s);
            }
        } else if (*p && !isspace((unsigned char)end[0])) {
            free(v);
            return tb_fail(e, "bad integer list near '%.20s'", p);
        }
    }
    *out = v;
    return n;
}
