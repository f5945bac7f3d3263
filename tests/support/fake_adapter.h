/* A fake adapter for testing the engine (core/copy.c) without any vendor:
 * it lists N experiments, yields a fixed record sequence for each, can fail
 * or misbehave on chosen experiments, and counts every call. Ownership: the
 * spec is copied; fake_open's adapter is released with xp_adapter_close. */
#ifndef XPORT_FAKE_ADAPTER_H
#define XPORT_FAKE_ADAPTER_H

#include <stdatomic.h>

#include "xport/sys/adapter.h"

struct fake_spec {
    int nexp;              /* experiments "exp-000".. in workspace "ws", project "p" */
    int npoints;           /* points in the one metric "loss" of each */
    int out_of_order;      /* index whose reader yields POINTS before SERIES_BEGIN, or -1 */
    int auth_fail;         /* index whose read fails with XP_EAUTH, or -1 */
    int drop;              /* index whose sink drops its metric (xp_sink_drop), or -1 */
    int read_delay_ms;     /* sleep per read_experiment (lets workers overlap) */
    int no_list, no_read, no_write, no_delete; /* leave that method out */
    unsigned reader_version; /* 0: XP_READER_VERSION; else this (a stale plugin) */
    /* when set, each reader reports its progress (xp_progress_set, batches
     * of all) and waits after its first POINTS batch until *gate is
     * nonzero: up to 30 s, then it fails */
    atomic_int *gate;
    /* destination: names it already holds (listed as ws/p/NAME), NULL-ended */
    const char *const *existing;
};

struct fake_counts {
    atomic_int lists, reads, writes, commits, aborts, deletes;
    char deleted[8][32]; /* names given to delete_experiment, in order */
};

/* Open a fake adapter for spec; counts (caller-owned, zeroed by the caller)
 * receive its call counts. */
int fake_open(struct xp_adapter **out, const struct fake_spec *spec,
              struct fake_counts *counts, struct xp_ctx *ctx);

/* A spec with nothing special: n experiments of npoints each. */
struct fake_spec fake_plain(int n, int npoints);

#endif
