/* One value from an INI file (include/xport/ini.h). */
#include <stdlib.h>
#include <string.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/ini.h"

static char *trimmed(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return xp_strndup(s, n);
}

char *xp_ini_get(const char *path, const char *section, const char *key)
{
    struct xp_buf f = XP_BUF_INIT;
    if (!path || xp_read_file(&f, path, 1 << 20)) {
        xp_error_clear();
        xp_buf_release(&f);
        return NULL;
    }
    char *found = NULL;
    int in = 0;
    for (const char *p = f.ptr; *p;) {
        size_t n = strcspn(p, "\n");
        char *line = trimmed(p, n);
        p += n + (p[n] == '\n');
        size_t ll = strlen(line);
        if (line[0] == '[' && ll > 1 && line[ll - 1] == ']') {
            char *name = trimmed(line + 1, ll - 2);
            in = !strcmp(name, section);
            free(name);
        } else if (in && line[0] != '#' && line[0] != ';') {
            char *eq = strpbrk(line, "=:");
            if (eq) {
                char *k = trimmed(line, (size_t)(eq - line));
                char *v = trimmed(eq + 1, strlen(eq + 1));
                if (!strcmp(k, key) && *v) {
                    free(found);
                    found = v;
                    v = NULL;
                }
                free(v);
                free(k);
            }
        }
        free(line);
    }
    xp_buf_release(&f);
    return found;
}
