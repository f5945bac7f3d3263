/* The ml-dash v0.5.x "token from a user name": an HS256 JWT signed with the
 * SDK's hard-coded development secret, claims in the SDK's order
 * (mldash.md 1.1.1), so servers that accept the ml-dash CLI accept xport. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mldash.h"
#include "xport/hash.h"
#include "xport/json.h"

#define MLD_DEV_SECRET "your-secret-key-change-this-in-production"
#define MLD_TOKEN_DAYS 30

/* base64url without padding, as JWT wants */
static void put_b64url(struct xp_buf *out, const void *data, size_t n)
{
    char *tmp = xp_malloc(4 * ((n + 2) / 3) + 1);
    xp_base64(tmp, data, n);
    for (char *p = tmp; *p && *p != '='; p++)
        xp_buf_putc(out, *p == '+' ? '-' : *p == '/' ? '_' : *p);
    free(tmp);
}

void mld_mint_token(struct xp_buf *out, const char *username, int64_t iat)
{
    /* userId: the first 10 decimal digits of the first 64 bits of
     * sha256(username), as the SDK computes it */
    unsigned char d[32];
    struct xp_sha256 c;
    xp_sha256_init(&c);
    xp_sha256_update(&c, username, strlen(username));
    xp_sha256_final(&c, d);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | d[i];
    char uid[32];
    snprintf(uid, sizeof(uid), "%" PRIu64, v);
    uid[10] = '\0';

    struct xp_buf payload = XP_BUF_INIT;
    xp_buf_printf(&payload, "{\"userId\":\"%s\",\"userName\":", uid);
    if (xp_json_put_str(&payload, username, strlen(username), "user name"))
        xp_buf_puts(&payload, "\"\"");
    xp_buf_printf(&payload, ",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}", iat,
                  iat + (int64_t)MLD_TOKEN_DAYS * 24 * 3600);

    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    xp_buf_reset(out);
    put_b64url(out, header, sizeof(header) - 1);
    xp_buf_putc(out, '.');
    put_b64url(out, payload.ptr, payload.len);
    unsigned char sig[32];
    xp_hmac_sha256(sig, MLD_DEV_SECRET, strlen(MLD_DEV_SECRET), out->ptr, out->len);
    xp_buf_putc(out, '.');
    put_b64url(out, sig, 32);
    xp_buf_release(&payload);
}
