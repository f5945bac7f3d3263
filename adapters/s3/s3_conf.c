/* Where the s3 adapter's requests go and with which credentials, in the
 * AWS CLI's order (docs.aws.amazon.com/cli/latest/userguide/
 * cli-configure-envvars.html and cli-configure-files.html): the endpoint
 * from --opt endpoint=, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (then
 * path-style: ENDPOINT/BUCKET/KEY, what S3-compatible stores serve), else
 * AWS's virtual-hosted https://BUCKET.s3.REGION.amazonaws.com; the region
 * from --opt region=, AWS_REGION, AWS_DEFAULT_REGION or the profile in
 * ~/.aws/config, else us-east-1; the keys from AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, else from the profile
 * (AWS_PROFILE, default "default") in ~/.aws/credentials
 * (AWS_SHARED_CREDENTIALS_FILE). */
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/ini.h"

/* $VAR if set and not empty, else $HOME/.aws/<name>. Caller frees. */
static char *aws_file(const char *var, const char *name)
{
    const char *v = getenv(var);
    if (v && *v)
        return xp_strdup(v);
    const char *home = getenv("HOME");
    if (!home || !*home)
        return NULL;
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s/.aws/%s", home, name);
    return xp_buf_detach(&b);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int s3_configure(struct s3_adapter *s, const struct xp_options *opts)
{
    const char *profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
    char *credfile = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    char *cfgfile = aws_file("AWS_CONFIG_FILE", "config");
    struct xp_buf sect = XP_BUF_INIT;
    /* ~/.aws/config names profiles "[profile NAME]", except the default */
    if (strcmp(profile, "default"))
        xp_buf_printf(&sect, "profile %s", profile);
    else
        xp_buf_puts(&sect, "default");

    const char *region = xp_options_get(opts, "region");
    if (!region)
        region = env("AWS_REGION");
    if (!region)
        region = env("AWS_DEFAULT_REGION");
    char *cfg_region = region ? NULL : xp_ini_get(cfgfile, sect.ptr, "region");
    s->region = xp_strdup(region ? region : cfg_region ? cfg_region : "us-east-1");
    free(cfg_region);

    const char *ep = xp_options_get(opts, "endpoint");
    if (!ep)
        ep = env("AWS_ENDPOINT_URL_S3");
    if (!ep)
        ep = env("AWS_ENDPOINT_URL");
    struct xp_buf b = XP_BUF_INIT;
    if (ep) {
        xp_buf_puts(&b, ep);
        while (b.len && b.ptr[b.len - 1] == '/')
            xp_buf_setlen(&b, b.len - 1);
        s->path_style = 1;
    } else {
        xp_buf_printf(&b, "https://%s.s3.%s.amazonaws.com", s->bucket, s->region);
    }
    s->endpoint = xp_buf_detach(&b);

    const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
    const char *tok = env("AWS_SESSION_TOKEN");
    char *fak = NULL, *fsk = NULL, *ftok = NULL;
    struct xp_buf from = XP_BUF_INIT;
    xp_buf_puts(&from, "the environment");
    if (!ak || !sk) {
        fak = xp_ini_get(credfile, profile, "aws_access_key_id");
        fsk = xp_ini_get(credfile, profile, "aws_secret_access_key");
        ftok = xp_ini_get(credfile, profile, "aws_session_token");
        ak = fak;
        sk = fsk;
        tok = ftok;
        xp_buf_reset(&from);
        xp_buf_printf(&from, "profile '%s' of '%s'", profile,
                      credfile ? credfile : "~/.aws/credentials");
    }
    int rc;
    if (strncmp(s->endpoint, "http://", 7) && strncmp(s->endpoint, "https://", 8))
        rc = xp_error_set(XP_EINVALID, "S3 endpoint '%s' is not an http(s) URL",
                          s->endpoint);
    else if (!ak || !sk)
        rc = xp_error_set(XP_EAUTH, "no S3 credentials for '%s': set AWS_ACCESS_KEY_ID "
                          "and AWS_SECRET_ACCESS_KEY, or give profile '%s' keys in '%s'",
                          s->url, profile, credfile ? credfile : "~/.aws/credentials");
    else
        rc = xp_http_add_sigv4(s->base.ctx->http, &s->cred, s->endpoint, s->region,
                               "s3", ak, sk, tok);
    if (rc && ak && sk)
        rc = xp_error_wrap(rc, "S3 credentials from %s", from.ptr);
    s->cred_from = xp_buf_detach(&from);
    if (fsk)
        memset(fsk, 0, strlen(fsk));
    if (ftok)
        memset(ftok, 0, strlen(ftok));
    free(fak);
    free(fsk);
    free(ftok);
    free(credfile);
    free(cfgfile);
    xp_buf_release(&sect);
    return rc;
}
