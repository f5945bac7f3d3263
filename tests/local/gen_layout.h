/* Writes test layouts through the local adapter's own sink. */
#ifndef XPORT_TEST_GEN_LAYOUT_H
#define XPORT_TEST_GEN_LAYOUT_H

#include <stdint.h>

/* The edge-case experiment: unicode and '/' in names, NaN/±Inf/-0/1e-300,
 * 2^63-1 and 2^64-1, strings, nested JSON, bool and null values, npoints
 * points, logs, params, summary, files. Returns 0 on success. */
int gen_edge_layout(const char *root, int64_t npoints);
/* n experiments "run-001".. each with one metric of npoints floats. */
int gen_many_layout(const char *root, int n, int64_t npoints);

/* One experiment "wide" with nseries metrics "m00".. of npoints each and
 * nfiles files of 64 KiB. */
int gen_wide_layout(const char *root, int nseries, int64_t npoints, int nfiles);

#endif
