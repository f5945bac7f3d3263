/* Which failures are worth another attempt, and how long to wait
 * (core/http_int.h). */
#include <ctype.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>

#include "http_int.h"

int xp__http_status_retryable(long status)
{
    /* 501 and 505 say the server will never do it, whatever we wait. */
    return status == 408 || status == 429 ||
           (status >= 500 && status <= 599 && status != 501 && status != 505);
}

int xp__http_curl_retryable(int code)
{
    switch ((CURLcode)code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

double xp__http_retry_after(const char *value)
{
    while (*value == ' ' || *value == '\t')
        value++;
    if (!*value)
        return -1;
    if (isdigit((unsigned char)*value)) {
        char *end;
        double s = strtod(value, &end);
        while (*end == ' ' || *end == '\t')
            end++;
        return *end ? -1 : s;
    }
    time_t when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return -1;
    double d = difftime(when, time(NULL));
    return d > 0 ? d : 0;
}

/* xorshift64*, one state per thread: jitter needs spread, not secrecy. */
static _Thread_local uint64_t rng;

static uint64_t rng_next(void)
{
    if (!rng) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
              (uint64_t)(uintptr_t)&ts;
        if (!rng)
            rng = 0x9e3779b97f4a7c15u;
    }
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1du;
}

double xp__http_backoff(int retry, long base_ms, long max_ms)
{
    double ceil = (double)base_ms;
    for (int i = 0; i < retry && ceil < (double)max_ms; i++)
        ceil *= 2;
    if (ceil > (double)max_ms)
        ceil = (double)max_ms;
    double u = (double)(rng_next() >> 11) / 9007199254740992.0; /* [0,1) */
    return u * ceil / 1000.0;
}
