/* Parsing the locations users type: "PATH", "local:PATH",
 * "VENDOR:WS[/PROJECT[/EXPERIMENT]]", "VENDOR://URL" (kept whole in path,
 * e.g. s3://BUCKET/PREFIX). The caller owns the parsed struct and
 * releases it with xp_location_release. */
#ifndef XPORT_LOCATION_H
#define XPORT_LOCATION_H

#include "sys/adapter.h"

/* default_adapter is used for bare paths ("local"). */
int xp_location_parse(struct xp_location *out, const char *text);
/* Build a location from a vendor name and a "WS[/PROJECT[/EXPERIMENT]]" or
 * a path (for adapters with XP_CAP_NO_NETWORK). */
int xp_location_from(struct xp_location *out, const char *adapter,
                     const char *source);
/* A location naming t but no source: loc->adapter = t's name and the
 * workspace from the first XP_OPT_NAMES_SOURCE option opts gives (NULL if
 * none is given). XP_EINVALID when t has no default_source. Release loc
 * with xp_location_release. */
int xp_location_default(struct xp_location *loc, const struct xp_adapter_type *t,
                        const struct xp_options *opts);
void xp_location_release(struct xp_location *loc);

/* Archives holding a layout, told by the path's suffix (any case). A path
 * given to the local adapter ("PATH", "local:PATH", download -o PATH) with
 * one of these suffixes, and not an existing folder, is the archive
 * adapter's. */
enum xp_archive_kind {
    XP_ARCHIVE_NONE = 0,
    XP_ARCHIVE_TAR,     /* .tar */
    XP_ARCHIVE_TAR_GZ,  /* .tar.gz, .tgz */
    XP_ARCHIVE_TAR_ZST, /* .tar.zst, .tzst */
    XP_ARCHIVE_TAR_XZ,  /* .tar.xz, .txz */
    XP_ARCHIVE_ZIP      /* .zip */
};
enum xp_archive_kind xp_archive_kind(const char *path);
/* 1 when loc->path is a path on this machine, 0 when there is none or it
 * is a URL the adapter reads ("s3://BUCKET/PREFIX"), which no journal,
 * lock or marker may be put beside. */
int xp_location_on_disk(const struct xp_location *loc);
/* "adapter:ws/project/exp" or the path, for messages; caller frees. */
char *xp_location_str(const struct xp_location *loc);

#endif
