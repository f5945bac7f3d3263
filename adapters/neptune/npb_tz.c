/* Naive local times of a named IANA zone turned into UTC, from the zone's
 * TZif file (RFC 8536) under /usr/share/zoneinfo, without touching the
 * process's TZ (xport runs experiments on several threads). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npb.h"
#include "xport/error.h"
#include "xport/fs.h"

#define ZONEINFO "/usr/share/zoneinfo"

static int64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    if (n == 4)
        return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

/* Parse TZif data: the 64-bit block when there is one, else the first. */
static int parse(struct npb_tz *tz, const unsigned char *d, size_t n)
{
    for (int pass = 0; pass < 2; pass++) {
        if (n < 44 || memcmp(d, "TZif", 4))
            return -1;
        int64_t isut = be(d + 20, 4), isstd = be(d + 24, 4), leap = be(d + 28, 4),
                tcnt = be(d + 32, 4), typ = be(d + 36, 4), chr = be(d + 40, 4);
        if (isut < 0 || isstd < 0 || leap < 0 || tcnt < 0 || typ <= 0 || chr < 0 ||
            tcnt > 100000 || typ > 256)
            return -1;
        int tsz = pass ? 8 : 4;
        size_t need = 44 + (size_t)tcnt * (tsz + 1) + (size_t)typ * 6 + (size_t)chr +
                      (size_t)leap * (tsz + 4) + (size_t)isstd + (size_t)isut;
        if (need > n)
            return -1;
        if (pass == 0 && d[4] >= '2') {
            d += need;
            n -= need;
            continue;
        }
        const unsigned char *p = d + 44;
        tz->ntrans = (size_t)tcnt;
        tz->trans = xp_calloc((size_t)tcnt + 1, sizeof(int64_t));
        tz->idx = xp_calloc((size_t)tcnt + 1, 1);
        tz->utoff = xp_calloc((size_t)typ, sizeof(int32_t));
        tz->ntypes = (size_t)typ;
        for (int64_t i = 0; i < tcnt; i++, p += tsz)
            tz->trans[i] = be(p, tsz);
        for (int64_t i = 0; i < tcnt; i++, p++) {
            if (*p >= typ)
                return -1;
            tz->idx[i] = *p;
        }
        for (int64_t i = 0; i < typ; i++, p += 6)
            tz->utoff[i] = (int32_t)be(p, 4);
        return 0;
    }
    return -1;
}

static int load_file(struct npb_tz *tz, const char *path, const char *name)
{
    struct xp_buf b = XP_BUF_INIT;
    int rc = xp_read_file(&b, path, 1 << 20);
    if (rc) {
        xp_buf_release(&b);
        return xp_error_set(XP_ENOTFOUND, "unknown time zone '%s'", name);
    }
    if (parse(tz, (const unsigned char *)b.ptr, b.len)) {
        xp_buf_release(&b);
        npb_tz_release(tz);
        return xp_error_set(XP_EINVALID, "time zone file '%s' is damaged", path);
    }
    xp_buf_release(&b);
    tz->name = xp_strdup(name);
    return 0;
}

static int utc(struct npb_tz *tz, const char *name)
{
    tz->name = xp_strdup(name);
    tz->utc = 1;
    return 0;
}

int npb_tz_load(struct npb_tz *tz, const char *name)
{
    memset(tz, 0, sizeof(*tz));
    if (!name) {
        const char *env = getenv("TZ");
        if (env) {
            name = *env == ':' ? env + 1 : env;
            if (!*name || !strcmp(name, "UTC0") || !strcmp(name, "GMT0"))
                return utc(tz, "UTC");
        } else {
            char link[PATH_MAX];
            ssize_t n = readlink("/etc/localtime", link, sizeof(link) - 1);
            const char *z = NULL;
            if (n > 0) {
                link[n] = '\0';
                z = strstr(link, "zoneinfo/");
            }
            if (!xp_is_file("/etc/localtime"))
                return utc(tz, "UTC");
            return load_file(tz, "/etc/localtime", z ? z + 9 : "localtime");
        }
    }
    if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC") || !strcmp(name, "GMT"))
        return utc(tz, name);
    if (name[0] == '/' || !xp_relpath_safe(name))
        return xp_error_set(XP_EINVALID, "time zone '%s' is not an IANA zone name", name);
    char *p = xp_path_join(ZONEINFO, name);
    int rc = load_file(tz, p, name);
    free(p);
    return rc;
}

void npb_tz_release(struct npb_tz *tz)
{
    free(tz->name);
    free(tz->trans);
    free(tz->idx);
    free(tz->utoff);
    memset(tz, 0, sizeof(*tz));
}

/* Offset in force during transition interval i (-1: before the first). */
static int32_t off_in(const struct npb_tz *tz, size_t i)
{
    if (i == 0) {
        /* before the first transition: the first standard-time type, taken
         * as type 0 (RFC 8536 section 3.2) */
        return tz->utoff[0];
    }
    return tz->utoff[tz->idx[i - 1]];
}

int64_t npb_tz_to_utc(struct npb_tz *tz, int64_t local)
{
    if (tz->utc)
        return local;
    /* interval i is [trans[i-1], trans[i]) in UTC; try the one used last
     * first, since series come in time order */
    size_t n = tz->ntrans + 1;
    for (size_t k = 0; k < n; k++) {
        size_t i = (tz->last + k) % n;
        int64_t u = local - off_in(tz, i);
        if ((i == 0 || u >= tz->trans[i - 1]) && (i == tz->ntrans || u < tz->trans[i])) {
            /* a local time that happens twice (clocks set back): the
             * earlier instant, as Python's fold=0 */
            if (i > 0) {
                int64_t e = local - off_in(tz, i - 1);
                if ((i == 1 || e >= tz->trans[i - 2]) && e < tz->trans[i - 1])
                    return tz->last = i - 1, e;
            }
            tz->last = i;
            return u;
        }
    }
    /* in a gap (clocks set forward): never written by fromtimestamp; take
     * the offset before the gap */
    int64_t best = local - off_in(tz, tz->last);
    return best;
}
