/* Parsing and printing of addresses and prefixes: every address that enters dlrd passes through here. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

static int parse_addr(const char *s, size_t len, IpPrefix *ret)
{
        char buf[INET6_ADDRSTRLEN];

        if (len == 0 || len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;

        memset(ret, 0, sizeof *ret);
        if (strchr(buf, ':')) {
                if (inet_pton(AF_INET6, buf, ret->addr) != 1)
                        return -EINVAL;
                ret->family = AF_INET6;
                ret->plen = 128;
        } else {
                if (inet_pton(AF_INET, buf, ret->addr) != 1)
                        return -EINVAL;
                ret->family = AF_INET;
                ret->plen = 32;
        }
        return 0;
}

int ip_addr_parse(const char *s, IpPrefix *ret)
{
        IpPrefix p;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_addr(s, strlen(s), &p);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

int ip_prefix_parse(const char *s, IpPrefix *ret)
{
        const char *slash;
        unsigned len = 0;
        IpPrefix p;
        int r;

        if (!s)
                return -EINVAL;
        slash = strchr(s, '/');
        if (!slash)
                return -EINVAL;
        r = parse_addr(s, (size_t) (slash - s), &p);
        if (r < 0)
                return r;

        /* Digits only: strtoul would accept signs, spaces and hex. */
        const char *d = slash + 1;
        if (*d == 0 || strlen(d) > 3 || (d[0] == '0' && d[1] != 0))
                return -EINVAL;
        for (; *d; d++) {
                if (*d < '0' || *d > '9')
                        return -EINVAL;
                len = len * 10 + (unsigned) (*d - '0');
        }
        if (len > (p.family == AF_INET ? 32u : 128u))
                return -EINVAL;
        p.plen = (uint8_t) len;
        *ret = p;
        return 0;
}

const char *ip_prefix_to_string(const IpPrefix *p, bool with_len, char *buf, size_t size)
{
        char a[INET6_ADDRSTRLEN];

        if (!inet_ntop(p->family, p->addr, a, sizeof a))
                snprintf(a, sizeof a, "?");
        if (with_len)
                snprintf(buf, size, "%s/%u", a, p->plen);
        else
                snprintf(buf, size, "%s", a);
        return buf;
}

bool ip_prefix_is_network(const IpPrefix *p)
{
        size_t n = ip_addr_len(p->family);

        for (size_t i = 0; i < n; i++) {
                unsigned bits = i * 8 >= p->plen ? 0 : (p->plen - i * 8 >= 8 ? 8 : p->plen - i * 8);
                uint8_t host = (uint8_t) (0xffu >> bits);
                if (p->addr[i] & host)
                        return false;
        }
        return true;
}

void ip_prefix_mask(IpPrefix *p)
{
        size_t n = ip_addr_len(p->family);

        for (size_t i = 0; i < n; i++) {
                unsigned bits = i * 8 >= p->plen ? 0 : (p->plen - i * 8 >= 8 ? 8 : p->plen - i * 8);
                p->addr[i] &= (uint8_t) ~(0xffu >> bits);
        }
}

bool ip_prefix_contains(const IpPrefix *b, const IpPrefix *a)
{
        IpPrefix x = *a;

        if (a->family != b->family || a->plen < b->plen)
                return false;
        x.plen = b->plen;
        ip_prefix_mask(&x);
        IpPrefix y = *b;
        ip_prefix_mask(&y);
        return memcmp(x.addr, y.addr, sizeof x.addr) == 0;
}

bool ip_prefix_overlaps(const IpPrefix *a, const IpPrefix *b)
{
        return a->plen <= b->plen ? ip_prefix_contains(a, b) : ip_prefix_contains(b, a);
}

int ip_addr_check_unicast(const IpPrefix *p)
{
        static const uint8_t zero[16];

        if (memcmp(p->addr, zero, ip_addr_len(p->family)) == 0)
                return -EINVAL;
        if (p->family == AF_INET) {
                if (p->addr[0] == 127 || p->addr[0] >= 224 || p->addr[0] == 0)
                        return -EINVAL;
        } else {
                if (p->addr[0] == 0xff) /* multicast */
                        return -EINVAL;
                if (p->addr[0] == 0xfe && (p->addr[1] & 0xc0) == 0x80) /* link-local */
                        return -EINVAL;
                static const uint8_t loop[16] = { [15] = 1 };
                if (memcmp(p->addr, loop, 16) == 0)
                        return -EINVAL;
        }
        return 0;
}

int ip_prefix_compare(const IpPrefix *a, const IpPrefix *b)
{
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        int r = memcmp(a->addr, b->addr, ip_addr_len(a->family));
        if (r != 0)
                return r;
        return a->plen < b->plen ? -1 : a->plen > b->plen;
}

uint64_t ip_prefix_hash(const IpPrefix *p)
{
        /* FNV-1a with a final mix: keys are operator-chosen, and the route table grows at 7/8 load. */
        uint64_t h = 1469598103934665603ull;
        const uint8_t *b = p->addr;
        size_t n = ip_addr_len(p->family);

        h = (h ^ p->family) * 1099511628211ull;
        h = (h ^ p->plen) * 1099511628211ull;
        for (size_t i = 0; i < n; i++)
                h = (h ^ b[i]) * 1099511628211ull;
        return h ^ (h >> 29);
}
