/* Keeping secrets out of logs and messages, and deciding which host is
 * which (core/http_int.h, include/xport/sys/http.h). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http_int.h"
#include "xport/sys/http.h"

/* Over-matching only costs a readable log line; under-matching leaks. */
static const char *const secret_words[] = {
    "key", "token", "secret", "sig", "passw", "pwd", "auth", "credential",
    "session", "cookie", NULL};

static int looks_secret(const char *name, size_t len)
{
    char low[128];
    if (len >= sizeof(low))
        len = sizeof(low) - 1;
    for (size_t i = 0; i < len; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[len] = '\0';
    for (const char *const *w = secret_words; *w; w++)
        if (strstr(low, *w))
            return 1;
    return 0;
}

int xp__http_header_secret(const char *name, const char *custom)
{
    if (custom && *custom && !strcasecmp(name, custom))
        return 1;
    return looks_secret(name, strlen(name));
}

char *xp_http_redact_url(const char *url)
{
    struct xp_buf b = XP_BUF_INIT;
    const char *p = url;
    const char *sep = strstr(url, "://");
    if (sep) {
        const char *auth = sep + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = memchr(auth, '@', alen);
        xp_buf_put(&b, url, (size_t)(auth - url));
        if (at) {
            xp_buf_puts(&b, "<redacted>");
            xp_buf_put(&b, at, alen - (size_t)(at - auth));
        } else {
            xp_buf_put(&b, auth, alen);
        }
        p = auth + alen;
    }
    size_t plen = strcspn(p, "?#");
    xp_buf_put(&b, p, plen);
    p += plen;
    if (*p == '?') {
        xp_buf_putc(&b, '?');
        p++;
        while (*p && *p != '#') {
            size_t flen = strcspn(p, "&#");
            const char *eq = memchr(p, '=', flen);
            if (eq && looks_secret(p, (size_t)(eq - p))) {
                xp_buf_put(&b, p, (size_t)(eq - p) + 1);
                xp_buf_puts(&b, "<redacted>");
            } else {
                xp_buf_put(&b, p, flen);
            }
            p += flen;
            if (*p == '&') {
                xp_buf_putc(&b, '&');
                p++;
            }
        }
    }
    xp_buf_puts(&b, p); /* the fragment, never sent anyway */
    return xp_buf_detach(&b);
}

char *xp__http_origin(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
    if (!u)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT))
        goto done;
    if (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))
        goto done;
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s://%s:%s", scheme, host, port);
    for (size_t i = 0; i < b.len; i++)
        b.ptr[i] = (char)tolower((unsigned char)b.ptr[i]);
    out = xp_buf_detach(&b);
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

char *xp__http_resolve(const char *base, const char *location)
{
    CURLU *u = curl_url();
    char *s = NULL, *out = NULL;
    if (!u)
        return NULL;
    if (!curl_url_set(u, CURLUPART_URL, base, 0) &&
        !curl_url_set(u, CURLUPART_URL, location, 0) &&
        !curl_url_get(u, CURLUPART_URL, &s, 0))
        out = xp_strdup(s);
    curl_free(s);
    curl_url_cleanup(u);
    return out;
}

void xp__http_put_scrubbed(struct xp_buf *out, const char *s,
                           const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (!n) {
        xp_buf_puts(out, s);
        return;
    }
    const char *hit;
    while ((hit = strstr(s, secret))) {
        xp_buf_put(out, s, (size_t)(hit - s));
        xp_buf_puts(out, "<redacted>");
        s = hit + n;
    }
    xp_buf_puts(out, s);
}

void xp__http_excerpt(struct xp_buf *out, const char *body, size_t len,
                      size_t max, const char *secret)
{
    struct xp_buf tmp = XP_BUF_INIT;
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)body[i];
        if (c == '\n' || c == '\r' || c == '\t') {
            if (tmp.len && tmp.ptr[tmp.len - 1] != ' ')
                xp_buf_putc(&tmp, ' ');
        } else if (c >= 0x20 && c != 0x7f) {
            xp_buf_putc(&tmp, (char)c);
        }
    }
    while (tmp.len && tmp.ptr[tmp.len - 1] == ' ')
        xp_buf_setlen(&tmp, tmp.len - 1);
    xp__http_put_scrubbed(out, tmp.ptr, secret);
    xp_buf_release(&tmp);
}
