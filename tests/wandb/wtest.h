/* Helpers for the wandb-offline tests: read runs through the adapter
 * interface and print every record as text, so that a test can compare a
 * whole run with an expected dump and still pick out single values.
 * Strings returned are owned by the caller. */
#ifndef XPORT_TESTS_WTEST_H
#define XPORT_TESTS_WTEST_H

#include <stddef.h>

#include "xport/buf.h"
#include "xport/sys/adapter.h"

struct wt_opts {
    const char *allow_partial; /* value of the adapter option, or NULL */
    unsigned resources;        /* 0: all */
    const char *only_series;
    int with_vendor;           /* print the vendor object too */
};

/* Dump every experiment under path, in listing order. Returns the first
 * failure code (0 when none); *out gets the dump up to that point and
 * *warnings every warning (may be NULL). */
int wt_dump(char **out, char **warnings, const char *path,
            const struct wt_opts *o);

/* Names of the experiments listed under path, one "ws/project/name" a
 * line. */
int wt_list(char **out, const char *path);

/* Append a value's dump form, as used in wt_dump ("i:2", "f:0.5", ...). */
void wt_value_put(struct xp_buf *out, const struct xp_value *v);

/* Find the line starting with prefix in text; returns a copy or NULL. */
char *wt_line(const char *text, const char *prefix);

#endif
