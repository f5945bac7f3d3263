/* The neptune-backup adapter's internals: time zones (npb_tz.c) and the
 * values the backup script writes (npb_values.c). */
#ifndef XPORT_NPB_H
#define XPORT_NPB_H

#include <stddef.h>
#include <stdint.h>

#include "npt.h"

struct npb_tz {
    char *name;
    int utc;
    int64_t *trans; /* transition times, UTC seconds */
    unsigned char *idx; /* type in force from each transition */
    size_t ntrans;
    int32_t *utoff; /* UTC offset of each type, seconds */
    size_t ntypes;
    size_t last;    /* interval used last */
};
/* Load an IANA zone by name; NULL: the local zone (TZ, else
 * /etc/localtime). */
int npb_tz_load(struct npb_tz *tz, const char *name);
void npb_tz_release(struct npb_tz *tz);
/* Seconds since the epoch of a naive local time given as if it were UTC. */
int64_t npb_tz_to_utc(struct npb_tz *tz, int64_t local);

/* "YYYY-MM-DD HH:MM:SS[.f...][+HH:MM]" (Python's str() of a datetime, and
 * pandas' CSV form of one) as epoch milliseconds, the fraction rounded to
 * the millisecond; naive times go through tz. 0 on success. */
int npb_parse_datetime(const char *s, size_t n, struct npb_tz *tz, int64_t *ms,
                       int *had_offset);
/* Python's repr of a set of strings ("{'a', \"b'c\"}", "set()") into its
 * elements, added to a; 0 on success, -1 when s is not one. */
int npb_parse_set(const char *s, struct npt_attr *a);
/* Replay one series CSV (step,value,timestamp as pandas writes it) into a
 * new float or string series attribute of r; the type is a float series
 * when every value cell is a float, empty or inf. */
int npb_read_csv(struct npt_run *r, const char *path, const char *attr,
                 struct npb_tz *tz);

#endif
