/* Internals of the HTTP engine shared by core/http*.c and core/ratelimit.c;
 * not for adapters (they use include/xport/sys/http.h). */
#ifndef XPORT_CORE_HTTP_INT_H
#define XPORT_CORE_HTTP_INT_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"

/* ---- time (core/ratelimit.c) ---------------------------------------- */

double xp__mono(void); /* monotonic seconds */
/* Sleep up to `seconds`, in slices so that *cancel (may be NULL) is seen
 * within ~50 ms; returns non-zero when cancelled. */
int xp__sleep(double seconds, volatile sig_atomic_t *cancel);

/* ---- token bucket shared by all threads (core/ratelimit.c) ------------ */

/* Tokens are bytes. Taking more than there are leaves a debt that the
 * taker sleeps off, so concurrent takers queue up behind each other and the
 * long-run rate holds whatever the chunk sizes are. */
struct xp_bucket {
    pthread_mutex_t mu;
    double rate;  /* tokens per second; 0: unlimited */
    double burst; /* most tokens that can pile up */
    double tokens;
    double last;
};
void xp_bucket_init(struct xp_bucket *b, double rate, double burst);
void xp_bucket_destroy(struct xp_bucket *b);
/* Take n tokens; returns the seconds the caller must wait first. */
double xp_bucket_take(struct xp_bucket *b, double n);

/* ---- retry policy (core/http_retry.c) --------------------------------- */

int xp__http_status_retryable(long status);
int xp__http_curl_retryable(int curlcode);
/* Parse a Retry-After value (delta seconds or an HTTP date) into seconds
 * from now; returns -1 when it is neither. */
double xp__http_retry_after(const char *value);
/* Full jitter: uniform in [0, min(max, base * 2^retry)] milliseconds,
 * returned in seconds. */
double xp__http_backoff(int retry, long base_ms, long max_ms);

/* ---- redaction and origins (core/http_redact.c) ------------------------ */

/* Does a header of this name carry a secret? custom is the configured
 * auth header name (may be NULL). */
int xp__http_header_secret(const char *name, const char *custom);
/* Normalised "scheme://host:port" of an absolute http(s) URL (lower case,
 * default port filled in); NULL when it has none. Caller frees. */
char *xp__http_origin(const char *url);
/* Resolve a Location value against the URL it came from. Caller frees;
 * NULL when it cannot be parsed. */
char *xp__http_resolve(const char *base, const char *location);
/* Append s to out with every occurrence of secret (when non-empty)
 * replaced by <redacted>. */
void xp__http_put_scrubbed(struct xp_buf *out, const char *s,
                           const char *secret);
/* First `max` bytes of an error body as one printable line. */
void xp__http_excerpt(struct xp_buf *out, const char *body, size_t len,
                      size_t max, const char *secret);

#endif
