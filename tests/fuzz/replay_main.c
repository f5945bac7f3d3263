/* A main() for the fuzz targets in the suite's own build (gcc, ASan+UBSan),
 * where libFuzzer is not available: every committed input of a corpus is run
 * once, then, for the seconds asked, inputs made by mutating them at random
 * (seeded, so a failure repeats): bit flips, bytes set to edge values,
 * ranges deleted, repeated or spliced from another input. It is not
 * coverage-guided; scripts/fuzz.sh and bench/fuzz_all.sh run libFuzzer for
 * that. A crash is the sanitizers' report or an abort; the input that caused
 * it is written to $FUZZ_CRASH_DIR (default the working folder) first.
 *   fuzz_replay_TARGET CORPUS_DIR [SECONDS [SEED]] */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

struct input {
    unsigned char *p;
    size_t n;
};

static uint64_t rng_state;

static uint64_t rnd(void) /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static int load(const char *path, struct input *in)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    in->p = NULL;
    in->n = 0;
    size_t cap = 0;
    for (;;) {
        if (in->n == cap) {
            cap = cap ? cap * 2 : 4096;
            unsigned char *q = realloc(in->p, cap);
            if (!q)
                abort();
            in->p = q;
        }
        size_t got = fread(in->p + in->n, 1, cap - in->n, f);
        in->n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    return 0;
}

/* Written before each mutated input runs, so that the one that crashes is
 * on disk (the sanitizers end the process). */
static void keep(const unsigned char *p, size_t n)
{
    const char *dir = getenv("FUZZ_CRASH_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/fuzz-last-input", dir && *dir ? dir : ".");
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
}

static const unsigned char edge[] = {0, 1, 0x7f, 0x80, 0xff, '"', '\\', '{', '[', ':',
                                     ',', '-', '.', 'e', '9', '\n', 0xc0, 0xed};

/* One mutated copy of in (maybe spliced with other) into buf; its size. */
static size_t mutate(unsigned char *buf, size_t cap, const struct input *in,
                     const struct input *other)
{
    size_t n = in->n < cap ? in->n : cap;
    memcpy(buf, in->p, n);
    int rounds = 1 + (int)below(8);
    for (int r = 0; r < rounds; r++) {
        switch (below(6)) {
        case 0: /* flip a bit */
            if (n)
                buf[below(n)] ^= (unsigned char)(1u << below(8));
            break;
        case 1: /* an edge byte */
            if (n)
                buf[below(n)] = edge[below(sizeof(edge))];
            break;
        case 2: { /* delete a range */
            if (!n)
                break;
            size_t at = below(n), len = 1 + below(n - at < 64 ? n - at : 64);
            memmove(buf + at, buf + at + len, n - at - len);
            n -= len;
            break;
        }
        case 3: { /* repeat a range */
            if (!n)
                break;
            size_t at = below(n), len = 1 + below(n - at < 64 ? n - at : 64);
            if (n + len > cap)
                break;
            memmove(buf + at + len, buf + at, n - at);
            n += len;
            break;
        }
        case 4: { /* splice: a piece of another input over the tail */
            if (!other->n)
                break;
            size_t at = below(n + 1), from = below(other->n);
            size_t len = other->n - from;
            if (at + len > cap)
                len = cap - at;
            memcpy(buf + at, other->p + from, len);
            n = at + len;
            break;
        }
        default: /* cut the end */
            n = below(n + 1);
            break;
        }
    }
    return n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s CORPUS_DIR [SECONDS [SEED]]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 0;
    rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 0x9e3779b97f4a7c15ULL;
    if (!rng_state)
        rng_state = 1;
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "fuzz replay: cannot open corpus '%s'\n", argv[1]);
        return 1;
    }
    char **names = NULL;
    size_t nn = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (nn + 1) * sizeof(*names));
        names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof(*names), by_name);
    struct input *ins = calloc(nn ? nn : 1, sizeof(*ins));
    size_t ok = 0;
    for (size_t i = 0; i < nn; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
        if (load(path, &ins[ok]) == 0) {
            LLVMFuzzerTestOneInput(ins[ok].p, ins[ok].n);
            ok++;
        }
        free(names[i]);
    }
    free(names);
    if (!ok) {
        fprintf(stderr, "fuzz replay: corpus '%s' is empty\n", argv[1]);
        return 1;
    }
    long runs = 0;
    size_t cap = 0;
    for (size_t i = 0; i < ok; i++)
        cap = ins[i].n > cap ? ins[i].n : cap;
    cap = cap * 2 + 256;
    unsigned char *buf = malloc(cap);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (seconds > 0) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
            break;
        const struct input *in = &ins[below(ok)], *other = &ins[below(ok)];
        size_t n = mutate(buf, cap, in, other);
        /* a copy of exactly n bytes, so that ASan sees a read past the end */
        unsigned char *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        keep(exact, n);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
        runs++;
    }
    printf("fuzz replay %s: %zu corpus inputs, %ld mutated inputs\n", argv[1], ok, runs);
    free(buf);
    for (size_t i = 0; i < ok; i++)
        free(ins[i].p);
    free(ins);
    return 0;
}
