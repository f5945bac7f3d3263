/* The shared HTTP engine: every adapter talks HTTP only through it.
 *
 * One `struct xp_http` per run, shared by all worker threads: it owns the
 * connection cache, the connection limit, the bandwidth buckets and the
 * run's retry budget. Calls block the calling thread; any number of threads
 * may call at once. Transient failures (connection errors, timeouts, cut-off
 * bodies, 408, 429, 5xx) are retried with exponential backoff and full
 * jitter; other failures are final.
 *
 * Ownership: xp_http_new's *out belongs to the caller (xp_http_free); the
 * config's strings are copied; a request and everything it points at is
 * borrowed for the duration of the call; a response is caller-allocated
 * (XP_HTTP_RESPONSE_INIT or all zero), owns what it holds, is emptied by the
 * next call that gets it and freed with xp_http_response_release. */
#ifndef XPORT_SYS_HTTP_H
#define XPORT_SYS_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../buf.h"

enum xp_http_auth {
    XP_HTTP_AUTH_NONE = 0,
    XP_HTTP_AUTH_BEARER, /* "Authorization: Bearer <secret>" */
    XP_HTTP_AUTH_BASIC,  /* secret is "user:password" */
    XP_HTTP_AUTH_HEADER  /* "<auth_header>: <secret>", e.g. X-API-Key */
};

struct xp_http_config {
    /* Optional first credentials (see xp_http_add_cred): they go only to
     * requests whose scheme, host and port equal api_base's
     * ("https://api.example.com"; a path is ignored). */
    const char *api_base;
    enum xp_http_auth auth;
    const char *secret;
    const char *auth_header;

    const char *user_agent;    /* NULL: "xport/<version>" */
    int max_connections;       /* transfers in flight over all threads */
    int max_retries;           /* per request (attempts = 1 + retries) */
    long retry_budget;         /* retries in the whole run; < 0 unlimited */
    long backoff_base_ms;      /* first backoff ceiling; doubles each try */
    long backoff_max_ms;       /* backoff ceiling */
    long retry_after_max_ms;   /* a longer Retry-After fails at once */
    /* Bandwidth over all transfers, both directions; a transfer over its
     * share sleeps in libcurl's callbacks. bytes_per_hour may burst a
     * minute's worth. Keep low_speed_limit below the rate per transfer. */
    int64_t limit_rate;        /* bytes/s; 0 off */
    int64_t bytes_per_hour;    /* 0 off */
    long timeout_ms;           /* one attempt, whole transfer; 0 none */
    long connect_timeout_ms;
    long low_speed_limit;      /* bytes/s below which ... */
    long low_speed_time_s;     /* ... for this long aborts the attempt */
    size_t max_body;           /* cap on in-memory response bodies */
    int max_redirects;
    int insecure;              /* skip TLS verification (tests only) */
    const char *ca_file;       /* NULL: system store */

    /* 1: one line per attempt (method, redacted URL, status, timing);
     * 2: also the headers, secrets shown as <redacted>. */
    int verbose;
    void (*log)(void *payload, const char *line); /* NULL: stderr */
    void *log_payload;
    volatile sig_atomic_t *cancel; /* non-zero stops transfers and waits */
};

/* Fill in the defaults: 8 connections, 5 retries, budget 1000, backoff
 * 500 ms doubling up to 30 s, Retry-After up to 120 s, connect timeout
 * 30 s, low speed 1 B/s for 60 s, bodies up to 32 MiB, 10 redirects.
 * A JSON body within the cap is then parsed whole only when json-c's tree
 * for it stays within 4 times its size or 32 MiB, whichever is larger
 * (xp_json_parse_answer, include/xport/json.h): 30 MiB of [0,0,...] would
 * take 1.1 GiB. */
void xp_http_config_init(struct xp_http_config *cfg);

struct xp_http;
int xp_http_new(struct xp_http **out, const struct xp_http_config *cfg);
/* Callers must have finished every request (joined their workers). */
void xp_http_free(struct xp_http *h);

/* Register credentials for one API host; a run copying between vendors
 * holds one per adapter. Requests to that origin get them unless they name
 * others; requests anywhere else (presigned storage URLs, redirects to
 * other hosts) get none. Every registered secret is kept out of logs and
 * messages. *out (may be NULL) stays valid until xp_http_free. Safe while
 * other threads run requests. */
struct xp_http_cred;
int xp_http_add_cred(struct xp_http *h, const struct xp_http_cred **out,
                     const char *api_base, enum xp_http_auth auth,
                     const char *auth_header, const char *secret);

/* Register AWS Signature Version 4 credentials for one origin (S3 and
 * stores that speak its API): libcurl signs every request to that origin
 * (CURLOPT_AWS_SIGV4 "aws:amz:REGION:SERVICE") with access_key and
 * secret_key; a session token (NULL: none) goes as x-amz-security-token,
 * signed with the rest. libcurl 7.88 hashes only in-memory POST fields as
 * the payload, so every request must carry its own x-amz-content-sha256
 * header (the hash of the body, of "" for none). The key id, the secret and
 * the token are kept out of logs and messages like any other secret. */
int xp_http_add_sigv4(struct xp_http *h, const struct xp_http_cred **out,
                      const char *api_base, const char *region,
                      const char *service, const char *access_key,
                      const char *secret_key, const char *session_token);

struct xp_http_header {
    const char *name;
    const char *value;
};

/* One part of a multipart/form-data body: from memory (data, len) or
 * streamed from the file at path. */
struct xp_http_part {
    const char *name;
    const void *data;
    size_t len;
    const char *path;
    const char *filename;     /* NULL: none (or path's base name) */
    const char *content_type; /* NULL: curl's guess */
};

enum xp_http_flags {
    XP_HTTP_NO_RETRY = 1u << 0,   /* one attempt only */
    XP_HTTP_NO_AUTH = 1u << 1,    /* never attach credentials */
    XP_HTTP_CHECK_SIZE = 1u << 2, /* expect_size is meaningful */
    /* A write the server must not get twice (an append, a create): it is
     * retried only after an answer saying it was not carried out (408, 429,
     * 503) or when no connection was made. After any other transient failure
     * (a reset, an answer cut short or too slow, another 5xx) the server may
     * have done it: the call fails with XP_ERETRY at once, and the caller
     * reads back what the server holds before sending again. */
    XP_HTTP_NOT_IDEMPOTENT = 1u << 3
};

/* A zero-initialised request is a GET with the response kept in memory.
 * At most one request body (body/body_len, body_path, parts) and one
 * response sink (memory, out_path, on_data) may be given. Caller headers go
 * only to the origin of url; a redirect elsewhere drops them. A body is sent
 * as given: set Content-Type yourself (libcurl's default for POST is
 * application/x-www-form-urlencoded). */
struct xp_http_request {
    const char *method;  /* NULL: GET, or POST when there is a body */
    const char *url;
    const struct xp_http_header *headers;
    size_t nheaders;

    const void *body;
    size_t body_len;
    const char *body_path;
    /* With body_path: send only path_len bytes from path_offset (one part
     * of a file, streamed); path_len 0 sends from path_offset to the end. */
    int64_t path_offset, path_len;
    const struct xp_http_part *parts;
    size_t nparts;

    /* Response sinks for 2xx bodies (error bodies never reach them). */
    size_t max_body;      /* memory sink cap; 0: the config's */
    const char *out_path; /* written atomically: complete or absent */
    /* Streamed; on_reset is called before a retry so the consumer can drop
     * what it got. Without on_reset no retry happens once data went out. */
    int (*on_data)(void *payload, const void *data, size_t len);
    int (*on_reset)(void *payload);
    void *payload;

    /* Verification of 2xx bodies; a mismatch is retried once. */
    const char *expect_sha256; /* hex */
    const char *expect_md5;    /* hex or base64 */
    int64_t expect_size;       /* with XP_HTTP_CHECK_SIZE */

    long timeout_ms; /* 0: the config's */
    unsigned flags;  /* enum xp_http_flags */
    /* Credentials to use (two accounts on one host); still sent only to
     * their own origin. NULL: the first registered for the URL's origin. */
    const struct xp_http_cred *cred;
    /* A 2xx body kept in memory that says "slow down" (e.g. a GraphQL rate
     * limit inside a 200 answer): return non-zero, with the reason in why,
     * to have it retried like a 429 (within the request's attempts and the
     * run's retry budget; XP_ERETRY when they run out); 0 accepts it. */
    int (*retry_2xx)(void *payload, const struct xp_buf *body,
                     struct xp_buf *why);
    void *retry_2xx_payload;
};

struct xp_http_response {
    long status;        /* final HTTP status, 0 if none was received */
    int code;           /* 0 or the XP_E* the call returned for it */
    char *error;        /* message when code != 0 (owned) */
    struct xp_buf body; /* memory sink, or the start of an error body */
    int64_t bytes;      /* body bytes of the final attempt */
    int attempts;
    double seconds;     /* wall time including backoff waits */
    char *url;          /* final URL after redirects (owned) */
    struct xp_buf headers; /* final response's "name: value\n" lines */
};

#define XP_HTTP_RESPONSE_INIT { 0, 0, NULL, XP_BUF_INIT, 0, 0, 0.0, NULL, XP_BUF_INIT }
void xp_http_response_init(struct xp_http_response *r);
void xp_http_response_release(struct xp_http_response *r);
/* Copy the value of the final response's header `name` (case-insensitive)
 * into out; XP_ENOTFOUND (no error message set) when it has none. */
int xp_http_response_header(struct xp_buf *out,
                            const struct xp_http_response *r,
                            const char *name);

/* Run one request to completion. Returns 0 on a 2xx that passed every
 * check; otherwise XP_EAUTH (401/403), XP_ENOTFOUND (404), XP_ERETRY
 * (transient failure that outlived its retries), XP_ECANCEL, XP_EIO
 * (out_path), XP_EUSER (on_data failed) or XP_ERROR (other 4xx with the
 * server's message, redirects, caps, mismatches). */
int xp_http_request(struct xp_http *h, const struct xp_http_request *req,
                    struct xp_http_response *resp);

/* Run n requests concurrently (curl multi), within max_connections over
 * the whole run. Each resps[i] gets its own result; returns 0 when all
 * succeeded, else the code of the first failed one (its message set). */
int xp_http_batch(struct xp_http *h, const struct xp_http_request *reqs,
                  struct xp_http_response *resps, size_t n);

/* Redacted copy of a URL for messages: userinfo and query values whose
 * names look secret (key, token, secret, signature, password, ...) become
 * <redacted>. Caller frees. */
char *xp_http_redact_url(const char *url);

/* Retries left in the run's budget (< 0: unlimited). */
long xp_http_retries_left(const struct xp_http *h);

/* Append s to b as one URL path segment (RFC 3986 unreserved characters
 * kept, every other byte percent-encoded): the one escaper for names in
 * request paths. */
struct xp_buf;
void xp_http_put_segment(struct xp_buf *b, const char *s);

#endif
