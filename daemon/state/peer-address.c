/* The grammar of peer addresses and the sd-bus address built from one (see peer-address.h). Used by the
 * validation of AddPeer and of every member record that arrives from a peer, and by the connecting side. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer-address.h"
#include "shared/strtable.h"

static const char *const peer_address_kind_table[_PEER_ADDRESS_KIND_MAX] = {
        [PEER_ADDRESS_UNIX] = "unix",
        [PEER_ADDRESS_SSH] = "ssh",
};

DEFINE_STRING_TABLE_LOOKUP(peer_address_kind, PeerAddressKind, _PEER_ADDRESS_KIND_MAX)

#define UNIX_PREFIX "unix:path="
#define SSH_PREFIX "ssh:"
#define E_GRAMMAR "invalid peer bus address: expected unix:path=/PATH or ssh:[USER@]HOST[:PORT]"

/* Not the C library's: these must not depend on the locale. */
static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
        return c >= 'a' && c <= 'z';
}

static bool is_alnum(char c)
{
        return is_digit(c) || is_lower(c) || (c >= 'A' && c <= 'Z');
}

/* What D-Bus addresses carry unescaped: the spec's "optionally escaped" bytes. */
static bool is_bus_plain(char c)
{
        return is_alnum(c) || c == '-' || c == '_' || c == '/' || c == '.' || c == '*';
}

static int parse_unix(const char *path, PeerAddress *a, const char **ret_error)
{
        size_t n = strlen(path);

        if (path[0] != '/') {
                *ret_error = "invalid peer bus address: unix:path= needs an absolute path";
                return -EINVAL;
        }
        if (n > PEER_UNIX_PATH_MAX) {
                *ret_error = "invalid peer bus address: unix:path= longer than 107 characters";
                return -EINVAL;
        }
        /* Only characters D-Bus carries unescaped ('*' aside), so the address is its own sd-bus form: no
         * second key (',' or ';'), no escape ('%'), no space or control character. */
        for (const char *p = path; *p; p++)
                if (!is_bus_plain(*p) || *p == '*') {
                        *ret_error = "invalid peer bus address: unix:path= may hold only A-Z a-z 0-9 _ . - /";
                        return -EINVAL;
                }
        a->kind = PEER_ADDRESS_UNIX;
        memcpy(a->path, path, n + 1);
        return 0;
}

static int parse_user(const char *s, size_t n, PeerAddress *a, const char **ret_error)
{
        if (n == 0 || n > PEER_SSH_USER_MAX || !(is_lower(s[0]) || s[0] == '_')) {
                *ret_error = "invalid peer bus address: ssh: user must be 1-32 characters, [a-z_][a-z0-9_-]*";
                return -EINVAL;
        }
        for (size_t i = 1; i < n; i++)
                if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '_' && s[i] != '-') {
                        *ret_error = "invalid peer bus address: ssh: user must be 1-32 characters, "
                                     "[a-z_][a-z0-9_-]*";
                        return -EINVAL;
                }
        memcpy(a->user, s, n);
        a->user[n] = '\0';
        return 0;
}

/* A DNS name or an IPv4 literal, in a->host already. */
static int check_name(const char *h, const char **ret_error)
{
        const char *label = h;
        struct in_addr v4;
        bool last_numeric = false;

        for (const char *p = h;; p++) {
                if (*p == '.' || *p == '\0') {
                        size_t n = (size_t) (p - label);
                        if (n == 0 || n > PEER_DNS_LABEL_MAX || label[0] == '-' || p[-1] == '-') {
                                *ret_error = "invalid peer bus address: ssh: host is not a DNS name "
                                             "(labels of 1-63 A-Z a-z 0-9 -, not starting or ending with '-')";
                                return -EINVAL;
                        }
                        last_numeric = true;
                        for (const char *q = label; q < p; q++)
                                last_numeric = last_numeric && is_digit(*q);
                        if (*p == '\0')
                                break;
                        label = p + 1;
                } else if (!is_alnum(*p) && *p != '-') {
                        *ret_error = "invalid peer bus address: ssh: host is not a DNS name "
                                     "(labels of 1-63 A-Z a-z 0-9 -, not starting or ending with '-')";
                        return -EINVAL;
                }
        }
        /* A name whose last label is all digits is an IPv4 literal and must be a plain dotted quad; so must
         * anything the resolver would read as a number ("0x7f000001", "127.1"). */
        if ((last_numeric || inet_aton(h, &v4)) && inet_pton(AF_INET, h, &v4) != 1) {
                *ret_error = "invalid peer bus address: ssh: host is not a dotted-quad IPv4 address";
                return -EINVAL;
        }
        return 0;
}

static int parse_port(const char *s, PeerAddress *a, const char **ret_error)
{
        unsigned v = 0;
        size_t n = strlen(s);

        if (n == 0 || n > 5 || s[0] == '0') {
                *ret_error = "invalid peer bus address: ssh: port must be 1-65535, in decimal";
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(s[i])) {
                        *ret_error = "invalid peer bus address: ssh: port must be 1-65535, in decimal";
                        return -EINVAL;
                }
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v > 65535) {
                *ret_error = "invalid peer bus address: ssh: port must be 1-65535, in decimal";
                return -EINVAL;
        }
        a->port = (uint16_t) v;
        return 0;
}

static int parse_ssh(const char *s, PeerAddress *a, const char **ret_error)
{
        const char *at = strchr(s, '@'), *h = s, *end;
        size_t n;
        int r;

        a->kind = PEER_ADDRESS_SSH;
        if (at) {
                r = parse_user(s, (size_t) (at - s), a, ret_error);
                if (r < 0)
                        return r;
                h = at + 1;
        }
        if (h[0] == '[') {
                struct in6_addr v6;

                end = strchr(h, ']');
                n = end ? (size_t) (end - h - 1) : 0;
                if (!end || n == 0 || n >= INET6_ADDRSTRLEN) {
                        *ret_error = "invalid peer bus address: ssh: [ without an IPv6 address and ]";
                        return -EINVAL;
                }
                memcpy(a->host, h + 1, n);
                a->host[n] = '\0';
                /* inet_pton takes hex digits, ':' and '.' only: no zone ("%eth0"), no space. */
                if (inet_pton(AF_INET6, a->host, &v6) != 1) {
                        *ret_error = "invalid peer bus address: ssh: not an IPv6 address between [ and ]";
                        return -EINVAL;
                }
                end++;
        } else {
                end = strchr(h, ':');
                if (end && strchr(end + 1, ':')) {
                        *ret_error = "invalid peer bus address: ssh: an IPv6 address goes between [ and ]";
                        return -EINVAL;
                }
                if (!end)
                        end = h + strlen(h);
                n = (size_t) (end - h);
                if (n == 0) {
                        *ret_error = "invalid peer bus address: ssh: no host";
                        return -EINVAL;
                }
                if (n > PEER_SSH_HOST_MAX) {
                        *ret_error = "invalid peer bus address: ssh: host longer than 253 characters";
                        return -EINVAL;
                }
                memcpy(a->host, h, n);
                a->host[n] = '\0';
                r = check_name(a->host, ret_error);
                if (r < 0)
                        return r;
        }
        if (*end == '\0')
                return 0;
        if (*end != ':') {
                *ret_error = "invalid peer bus address: ssh: only :PORT may follow the host";
                return -EINVAL;
        }
        return parse_port(end + 1, a, ret_error);
}

int peer_address_parse(const char *s, PeerAddress *ret, const char **ret_error)
{
        PeerAddress a = {};
        const char *why = E_GRAMMAR;
        int r = -EINVAL;

        if (!s || strlen(s) > PEER_ADDRESS_MAX)
                why = "invalid peer bus address: missing, or too long";
        else if (strncmp(s, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
                r = parse_unix(s + strlen(UNIX_PREFIX), &a, &why);
        else if (strncmp(s, SSH_PREFIX, strlen(SSH_PREFIX)) == 0)
                r = parse_ssh(s + strlen(SSH_PREFIX), &a, &why);
        if (r < 0) {
                *ret_error = why;
                return r;
        }
        *ret_error = NULL;
        if (ret)
                *ret = a;
        return 0;
}

int peer_ssh_config_check(const char *path, const char **ret_error)
{
        if (!path || (strcmp(path, "none") != 0 && path[0] != '/')) {
                *ret_error = "expected an absolute path, or \"none\"";
                return -EINVAL;
        }
        if (strlen(path) > PEER_SSH_CONFIG_MAX) {
                *ret_error = "path longer than 4095 characters";
                return -EINVAL;
        }
        for (const char *p = path; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                        *ret_error = "control characters in the path";
                        return -EINVAL;
                }
        *ret_error = NULL;
        return 0;
}

/* ------------------------------------------------------------------ building */

/* A string written twice: once to measure (size 0), once into a buffer of that size. */
typedef struct Out {
        char *buf;
        size_t size, len;
} Out;

static void out_char(Out *o, char c)
{
        if (o->len + 1 < o->size)
                o->buf[o->len] = c;
        o->len++;
}

static void out_raw(Out *o, const char *s)
{
        for (; *s; s++)
                out_char(o, *s);
}

/* sd-bus decodes %XX in every value, and ',' or ';' would end it: everything not plain is escaped. */
static void out_value(Out *o, const char *s)
{
        static const char hex[] = "0123456789abcdef";

        for (; *s; s++)
                if (is_bus_plain(*s))
                        out_char(o, *s);
                else {
                        out_char(o, '%');
                        out_char(o, hex[(unsigned char) *s >> 4]);
                        out_char(o, hex[(unsigned char) *s & 0xf]);
                }
}

static void out_arg(Out *o, unsigned *i, const char *value)
{
        char key[24];

        (void) snprintf(key, sizeof key, ",argv%u=", (*i)++);
        out_raw(o, key);
        out_value(o, value);
}

static void render(Out *o, const PeerAddress *a, const char *ssh_config)
{
        unsigned i = 0;

        if (a->kind == PEER_ADDRESS_UNIX) {
                out_raw(o, UNIX_PREFIX);
                out_value(o, a->path);
                return;
        }
        out_raw(o, "unixexec:path=");
        out_value(o, DLRD_SSH);
        out_arg(o, &i, "ssh");
        out_arg(o, &i, "-F");
        out_arg(o, &i, ssh_config);
        /* No pseudo-terminal, no X11 or agent forwarding, never a prompt: the command line, which ssh reads
         * before any configuration file, wins over whatever the file says. */
        out_arg(o, &i, "-T");
        out_arg(o, &i, "-x");
        out_arg(o, &i, "-a");
        out_arg(o, &i, "-o");
        out_arg(o, &i, "BatchMode=yes");
        if (a->port > 0) {
                char port[8];

                (void) snprintf(port, sizeof port, "%u", (unsigned) a->port);
                out_arg(o, &i, "-p");
                out_arg(o, &i, port);
        }
        if (a->user[0]) {
                out_arg(o, &i, "-l");
                out_arg(o, &i, a->user);
        }
        /* Options end before the destination, which ssh then never reads as one (nor as user@host). */
        out_arg(o, &i, "--");
        out_arg(o, &i, a->host);
}

int peer_address_to_bus(const PeerAddress *a, const char *ssh_config, char **ret)
{
        const char *why;
        Out o = {};
        char *s;

        if (!ssh_config)
                ssh_config = "none";
        if (a->kind < 0 || a->kind >= _PEER_ADDRESS_KIND_MAX || peer_ssh_config_check(ssh_config, &why) < 0)
                return -EINVAL;
        render(&o, a, ssh_config);
        s = malloc(o.len + 1);
        if (!s)
                return -ENOMEM;
        o = (Out) { .buf = s, .size = o.len + 1 };
        render(&o, a, ssh_config);
        s[o.len] = '\0';
        *ret = s;
        return 0;
}

int peer_address_bus_for(const char *s, const char *ssh_config, char **ret)
{
        PeerAddress a;
        const char *why;
        int r;

        r = peer_address_parse(s, &a, &why);
        if (r < 0)
                return r;
        return peer_address_to_bus(&a, ssh_config, ret);
}
