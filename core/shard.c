/* --shard K/N: the stable assignment of experiments to shards
 * (include/xport/shard.h). */
#include <string.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/hash.h"
#include "xport/numparse.h"
#include "xport/shard.h"

int xp_shard_of(const char *workspace, const char *project, const char *key, int n)
{
    if (n <= 1)
        return 1;
    const char *parts[3] = {workspace ? workspace : "", project ? project : "",
                            key ? key : ""};
    struct xp_sha256 c;
    unsigned char h[32];
    xp_sha256_init(&c);
    for (int i = 0; i < 3; i++)
        xp_sha256_update(&c, parts[i], strlen(parts[i]) + (i < 2)); /* NUL between parts */
    xp_sha256_final(&c, h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | h[i];
    return (int)(v % (uint64_t)n) + 1;
}

const char *xp_shard_key(const char *root, const char *key)
{
    size_t n = root ? strlen(root) : 0;
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (n && key && !strncmp(key, root, n) && key[n] == '/')
        return key + n;
    return key;
}

int xp_shard_parse(const char *s, int *k, int *n)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    uint64_t kk, nn;
    if (!slash || xp_parse_u64n(s, (size_t)(slash - s), &kk) ||
        xp_parse_u64n(slash + 1, strlen(slash + 1), &nn))
        return xp_error_set(XP_EINVALID, "needs K/N with whole numbers (like 2/4), not '%s'",
                            s ? s : "");
    if (nn < 1 || nn > 1000000 || kk < 1 || kk > nn)
        return xp_error_set(XP_EINVALID, "needs 1 <= K <= N <= 1000000, not '%s'", s);
    *k = (int)kk;
    *n = (int)nn;
    return 0;
}
