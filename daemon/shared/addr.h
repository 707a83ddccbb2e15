/* IP addresses and prefixes as dlrd stores them: strict parsing of operator input, canonical printing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct IpPrefix {
        uint8_t family; /* AF_INET or AF_INET6 */
        uint8_t plen;
        uint8_t addr[16]; /* network byte order; IPv4 in the first 4 bytes, the rest zero */
} IpPrefix;

#define IP_PREFIX_MAX_STR 50 /* "xxxx:...:xxxx/128" plus NUL, with room */

static inline size_t ip_addr_len(int family)
{
        return family == AF_INET ? 4 : 16;
}

/* Parses "addr/len". Returns 0, or -EINVAL for anything that is not exactly one IPv4 or IPv6 address followed
 * by a decimal prefix length within range. Host bits are kept as given. */
int ip_prefix_parse(const char *s, IpPrefix *ret);

/* Parses a bare address (no "/len"); the result has plen = 32 or 128. */
int ip_addr_parse(const char *s, IpPrefix *ret);

/* Writes "addr/len" (or just "addr" when with_len is false) into buf; always NUL-terminates. */
const char *ip_prefix_to_string(const IpPrefix *p, bool with_len, char *buf, size_t size);

/* True when no bit beyond plen is set. */
bool ip_prefix_is_network(const IpPrefix *p);

/* Clears the bits beyond plen. */
void ip_prefix_mask(IpPrefix *p);

/* True when a is inside b (same family and b's first b->plen bits match). */
bool ip_prefix_contains(const IpPrefix *b, const IpPrefix *a);

/* True when the two networks share any address. */
bool ip_prefix_overlaps(const IpPrefix *a, const IpPrefix *b);

/* Rejects addresses no gateway or route may use: unspecified, loopback, multicast, IPv4 limited broadcast,
 * IPv6 link-local (gateways). Returns 0 or -EINVAL. */
int ip_addr_check_unicast(const IpPrefix *p);

/* Total order: family, then address, then length. */
int ip_prefix_compare(const IpPrefix *a, const IpPrefix *b);

/* Hash over family, length and address. */
uint64_t ip_prefix_hash(const IpPrefix *p);
