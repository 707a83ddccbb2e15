/* Redacted views of configuration for callers that are not root (state/redact.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state/redact.h"

int peer_address_redact(const char *address, char **ret)
{
        const char *colon = strchr(address, ':');
        char *s;

        if (strncmp(address, "unix:", 5) == 0)
                s = strdup(address);
        else if (strncmp(address, "ssh:", 4) == 0) {
                const char *at = strrchr(address + 4, '@');
                const char *host = at ? at + 1 : address + 4;
                size_t n = strlen(host);

                s = malloc(4 + n + 1);
                if (s) {
                        memcpy(s, "ssh:", 4);
                        memcpy(s + 4, host, n + 1);
                }
        } else
                s = strndup(address, colon ? (size_t) (colon - address) + 1 : 0);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
