/* Reading one value from an INI file, as Python's configparser writes them
 * (comet_ml's .comet.config, the AWS CLI's ~/.aws/credentials and config). */
#ifndef XPORT_INI_H
#define XPORT_INI_H

/* The value of key in section [section] of the file at path: "key = value"
 * or "key: value" lines, blanks around names and values dropped, '#' and
 * ';' lines skipped, the last of repeated keys kept. NULL when the file,
 * the section or a non-empty value is missing (no error set). Caller
 * frees. */
char *xp_ini_get(const char *path, const char *section, const char *key);

#endif
