/* Auth scoping for the HTTP engine: the credentials registered per origin,
 * which of them a request to a given URL gets, and scrubbing every secret
 * out of text before it is logged or returned. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http_int.h"
#include "xport/error.h"

static void wipe_free(char *s)
{
    if (!s)
        return;
    for (volatile char *p = s; *p; p++)
        *p = 0;
    free(s);
}

/* Register c (taken) with the engine. */
static void cred_add(struct xp_http *h, struct xp_http_cred *c,
                     const struct xp_http_cred **out)
{
    pthread_rwlock_wrlock(&h->cred_mu);
    h->creds = xp_realloc(h->creds, (h->ncreds + 1) * sizeof(*h->creds));
    h->creds[h->ncreds++] = c;
    pthread_rwlock_unlock(&h->cred_mu);
    if (out)
        *out = c;
}

int xp_http_add_cred(struct xp_http *h, const struct xp_http_cred **out,
                     const char *api_base, enum xp_http_auth auth,
                     const char *auth_header, const char *secret)
{
    if (out)
        *out = NULL;
    if (!api_base)
        return xp_error_set(XP_EINVALID, "credentials need an API base URL");
    char *origin = xp__http_origin(api_base);
    if (!origin) {
        char *r = xp_http_redact_url(api_base);
        int rc = xp_error_set(XP_EINVALID, "invalid API base URL '%s'", r);
        free(r);
        return rc;
    }
    if (auth != XP_HTTP_AUTH_NONE && (!secret || !*secret)) {
        int rc = xp_error_set(XP_EAUTH, "no credentials given for '%s'",
                              origin);
        free(origin);
        return rc;
    }
    if (secret && strpbrk(secret, "\r\n")) {
        int rc = xp_error_set(XP_EINVALID, "the secret for '%s' contains a "
                              "line break", origin);
        free(origin);
        return rc;
    }
    if (auth == XP_HTTP_AUTH_HEADER &&
        (!auth_header || !*auth_header ||
         strpbrk(auth_header, ": \t\r\n"))) {
        free(origin);
        return xp_error_set(XP_EINVALID, "invalid auth header name '%s'",
                            auth_header ? auth_header : "");
    }
    struct xp_http_cred *c = xp_calloc(1, sizeof(*c));
    c->origin = origin;
    struct xp_buf line = XP_BUF_INIT;
    switch (auth) {
    case XP_HTTP_AUTH_BEARER:
        xp_buf_printf(&line, "Authorization: Bearer %s", secret);
        c->name = xp_strdup("Authorization");
        break;
    case XP_HTTP_AUTH_BASIC: {
        size_t n = strlen(secret);
        c->encoded = xp_malloc(4 * ((n + 2) / 3) + 1);
        xp_base64(c->encoded, (const unsigned char *)secret, n);
        xp_buf_printf(&line, "Authorization: Basic %s", c->encoded);
        c->name = xp_strdup("Authorization");
        break;
    }
    case XP_HTTP_AUTH_HEADER:
        xp_buf_printf(&line, "%s: %s", auth_header, secret);
        c->name = xp_strdup(auth_header);
        break;
    case XP_HTTP_AUTH_NONE:
        break;
    }
    c->line = line.len ? xp_buf_detach(&line) : NULL;
    xp_buf_release(&line);
    c->secret = c->line ? xp_strdup(secret) : NULL;
    cred_add(h, c, out);
    return 0;
}

int xp_http_add_sigv4(struct xp_http *h, const struct xp_http_cred **out,
                      const char *api_base, const char *region,
                      const char *service, const char *access_key,
                      const char *secret_key, const char *session_token)
{
    if (out)
        *out = NULL;
    char *origin = api_base ? xp__http_origin(api_base) : NULL;
    if (!origin)
        return xp_error_set(XP_EINVALID, "invalid endpoint URL for signed requests");
    const char *parts[] = {region, service, access_key, secret_key, session_token};
    const char *what[] = {"region", "service", "access key id", "secret access key",
                          "session token"};
    for (int i = 0; i < 5; i++) {
        if (i < 4 && (!parts[i] || !*parts[i])) {
            int rc = xp_error_set(XP_EAUTH, "no %s given for '%s'", what[i], origin);
            free(origin);
            return rc;
        }
        /* ':' would end curl's provider fields; line breaks, a header */
        if (parts[i] && strpbrk(parts[i], i < 2 ? ":\r\n" : "\r\n")) {
            int rc = xp_error_set(XP_EINVALID, "the %s for '%s' contains a "
                                  "character it cannot hold", what[i], origin);
            free(origin);
            return rc;
        }
    }
    struct xp_http_cred *c = xp_calloc(1, sizeof(*c));
    c->origin = origin;
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "aws:amz:%s:%s", region, service);
    c->sigv4 = xp_buf_detach(&b);
    c->akey = xp_strdup(access_key);
    c->secret = xp_strdup(secret_key);
    if (session_token && *session_token) {
        c->token = xp_strdup(session_token);
        xp_buf_printf(&b, "x-amz-security-token: %s", session_token);
        c->line = xp_buf_detach(&b);
        c->name = xp_strdup("x-amz-security-token");
    }
    xp_buf_release(&b);
    cred_add(h, c, out);
    return 0;
}

/* Does c carry anything to send? */
static int cred_usable(const struct xp_http_cred *c)
{
    return c->line || c->sigv4;
}

/* The credentials a request to origin gets: the request's own when they
 * are for that origin, else the first registered for it. */
const struct xp_http_cred *xp__http_cred_for(struct xp_http *h,
                                           const struct xp_http_cred *want,
                                           const char *origin)
{
    if (!origin)
        return NULL;
    if (want)
        return !strcmp(want->origin, origin) && cred_usable(want) ? want : NULL;
    const struct xp_http_cred *found = NULL;
    pthread_rwlock_rdlock(&h->cred_mu);
    for (size_t i = 0; i < h->ncreds && !found; i++)
        if (cred_usable(h->creds[i]) && !strcmp(h->creds[i]->origin, origin))
            found = h->creds[i];
    pthread_rwlock_unlock(&h->cred_mu);
    return found;
}

/* Append s to out with every known secret replaced. */
void xp__http_scrub(struct xp_http *h, struct xp_buf *out, const char *s)
{
    struct xp_buf a = XP_BUF_INIT, b = XP_BUF_INIT;
    xp_buf_puts(&a, s);
    pthread_rwlock_rdlock(&h->cred_mu);
    for (size_t i = 0; i < h->ncreds; i++) {
        const char *sec[4] = {h->creds[i]->secret, h->creds[i]->encoded,
                              h->creds[i]->akey, h->creds[i]->token};
        for (int k = 0; k < 4; k++) {
            if (!sec[k])
                continue;
            xp_buf_reset(&b);
            xp__http_put_scrubbed(&b, a.ptr, sec[k]);
            struct xp_buf t = a;
            a = b;
            b = t;
        }
    }
    pthread_rwlock_unlock(&h->cred_mu);
    xp_buf_puts(out, a.ptr);
    xp_buf_release(&a);
    xp_buf_release(&b);
}

int xp__http_secret_header(struct xp_http *h, const char *name)
{
    int yes = xp__http_header_secret(name, NULL);
    pthread_rwlock_rdlock(&h->cred_mu);
    for (size_t i = 0; i < h->ncreds && !yes; i++)
        yes = h->creds[i]->name && !strcasecmp(h->creds[i]->name, name);
    pthread_rwlock_unlock(&h->cred_mu);
    return yes;
}

void xp__http_creds_free(struct xp_http *h)
{
    for (size_t i = 0; i < h->ncreds; i++) {
        struct xp_http_cred *c = h->creds[i];
        free(c->origin);
        wipe_free(c->line);
        free(c->name);
        wipe_free(c->secret);
        wipe_free(c->encoded);
        free(c->sigv4);
        wipe_free(c->akey);
        wipe_free(c->token);
        free(c);
    }
    free(h->creds);
    pthread_rwlock_destroy(&h->cred_mu);
}
