/* Internals of the HTTP engine shared by core/http*.c and core/ratelimit.c;
 * not for adapters (they use include/xport/sys/http.h).
 *
 * The engine's files, each using only those after it: http.c (the engine
 * object and its set-up), http_multi.c (the per-thread multi loop that
 * drives transfers), http_xfer.c (the verdict on each attempt: retry,
 * redirect, fail, done), http_request.c (building a transfer and each
 * attempt's curl handle), http_body.c (where a body comes from and goes
 * to), http_response.c (reading response headers and checking the body),
 * http_log.c (the scrubbed log and failures), http_auth.c (which host gets
 * which credentials, and scrubbing them out of text), and below them all
 * http_redact.c, http_retry.c and ratelimit.c. */
#ifndef XPORT_CORE_HTTP_INT_H
#define XPORT_CORE_HTTP_INT_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "xport/buf.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/sys/http.h"

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

/* ---- the engine and one transfer (core/http.c and friends) -------------- */

/* One host's credentials. Never freed before the engine, so a pointer
 * taken under cred_mu stays valid without it. */
struct xp_http_cred {
    char *origin;   /* "scheme://host:port" they may go to */
    char *line;     /* the whole header line */
    char *name;     /* the header's name */
    char *secret;   /* as given, and as it may show up in echoes: */
    char *encoded;  /* Basic's base64, or NULL */
    /* SigV4 (xp_http_add_sigv4): "aws:amz:REGION:SERVICE", the key pair
     * and the session token (its header is `line`, or NULL); else NULL */
    char *sigv4, *akey, *token;
};

struct xp__http_tmulti; /* one thread's multi handle (core/http_multi.c) */

struct xp_http {
    struct xp_http_config cfg; /* strings owned; secret NULL */
    pthread_rwlock_t cred_mu;
    struct xp_http_cred **creds;
    size_t ncreds;
    char *ua;
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    pthread_key_t key;         /* -> this thread's struct xp__http_tmulti */
    pthread_mutex_t mu;        /* in_flight, budget, multis */
    pthread_cond_t cv;
    int in_flight;
    long budget;
    struct xp__http_tmulti *multis;
    struct xp_bucket rate, hourly;
    pthread_mutex_t log_mu;
};

enum xp__http_sink { SINK_MEM, SINK_FILE, SINK_CB };

/* Where a request body (or one multipart part) is read from: a file, or
 * the request's bytes in memory when fp is NULL. */
struct xp__http_src {
    struct xfer *x;
    FILE *fp;
    const char *path; /* for messages */
    const char *mem;
    curl_off_t size, off;
    curl_off_t base; /* where the body starts in fp */
};

struct xfer {
    struct xp_http *h;
    const struct xp_http_request *req;
    struct xp_http_response *resp;
    CURL *easy;
    struct curl_slist *hdrs;
    curl_mime *mime;
    char errbuf[CURL_ERROR_SIZE];

    char *url, *rurl; /* current URL and its redacted form */
    char *first_origin;
    const char *method;
    int send_body;
    enum xp__http_sink sink;
    size_t cap;
    struct xp_afile af;
    struct xp__http_src body;   /* when req->body or req->body_path */
    struct xp__http_src *parts; /* one per req->parts[i] */

    int attempts, max_attempts, redirects, verify_retried;
    int running, done, authed;
    double t0, attempt_t0, not_before;
    int64_t delivered; /* bytes passed to on_data, all attempts */

    /* the current attempt */
    long status;
    int64_t content_length, bytes;
    double retry_after;
    char *location;
    int want_sha, want_md5;
    struct xp_sha256 sha;
    struct xp_md5 md5;
    char srv_md5[40], srv_sha[64];
    const char *srv_md5_from, *srv_sha_from;
    int sink_code;
    struct xp_buf sink_msg;
};

/* core/http_log.c: the log and failures (scrubbed of every known secret),
 * and cancelling */
void xp__http_log(struct xp_http *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Log one header line going out ('>') or coming in ('<'), its value
 * redacted when the header carries a secret. */
void xp__http_log_header(struct xp_http *h, char dir, const char *line);
int xp__http_cancelled(const struct xp_http *h);
/* Fail x for good: code and a scrubbed message into its response. */
void xp__http_fail(struct xfer *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* core/http_auth.c */
/* The credentials a request to origin gets: the request's own (want) when
 * they are for that origin, else the first registered for it. */
const struct xp_http_cred *xp__http_cred_for(struct xp_http *h,
                                             const struct xp_http_cred *want,
                                             const char *origin);
/* Append s to out with every known secret replaced. */
void xp__http_scrub(struct xp_http *h, struct xp_buf *out, const char *s);
/* Does a header of this name carry a secret, built in or configured? */
int xp__http_secret_header(struct xp_http *h, const char *name);
void xp__http_creds_free(struct xp_http *h);

/* core/http_request.c */
void xp__http_xfer_init(struct xfer *x, struct xp_http *h,
                        const struct xp_http_request *rq,
                        struct xp_http_response *resp);
/* Set up x->easy for the next attempt; -1 when curl refuses. */
int xp__http_xfer_start(struct xfer *x);
void xp__http_set_url(struct xfer *x, char *url);

/* core/http_body.c: curl's read, write, seek and progress callbacks */
size_t xp__http_on_write(char *data, size_t size, size_t nmemb, void *ud);
size_t xp__http_src_read(char *buf, size_t size, size_t nitems, void *ud);
int xp__http_src_seek(void *ud, curl_off_t off, int origin);
int xp__http_src_rewind(struct xp__http_src *s);
void xp__http_src_close(struct xp__http_src *s);
/* Open path as a body source for x; sets the error and returns XP_EIO. */
int xp__http_src_open(struct xp__http_src *s, struct xfer *x,
                      const char *path);
/* Narrow an opened file source to len bytes from off (len 0: to the end);
 * XP_EINVALID when the range is not inside the file. */
int xp__http_src_range(struct xp__http_src *s, int64_t off, int64_t len);
int xp__http_on_progress(void *ud, curl_off_t dt, curl_off_t dn,
                         curl_off_t ut, curl_off_t un);
/* Empty the sink before another attempt (x->af.err set on failure). */
void xp__http_sink_rewind(struct xfer *x);

/* core/http_response.c */
size_t xp__http_on_header(char *buf, size_t size, size_t nitems, void *ud);
/* Forget what the last attempt's response said. */
void xp__http_attempt_reset(struct xfer *x);
/* Check a finished 2xx body: 0 when good, -1 when cut short (transient),
 * 1 on a size or checksum mismatch; the reason goes into why. */
int xp__http_verify_body(struct xfer *x, struct xp_buf *why);

/* core/http_multi.c */
/* The key destructor: a thread's multi handle goes when the thread does. */
void xp__http_tmulti_gone(void *p);
void xp__http_multis_free(struct xp_http *h);

/* core/http_xfer.c */
/* Judge a finished attempt (res is curl's result). */
void xp__http_xfer_end(struct xfer *x, CURLcode res);
/* After the last attempt: commit or drop the output, fill the response. */
void xp__http_xfer_close(struct xfer *x);

static inline int xp__http_is_2xx(long s)
{
    return s >= 200 && s < 300;
}

#endif
