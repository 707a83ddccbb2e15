/* Which address families a firewall rule can match: the nftables layer compiles one kernel rule per family
 * where the rule matches addresses, so it needs to know them. Pure function of the rule. */
#include <sys/socket.h>

#include "config.h"

static unsigned list_families(const IpPrefix *p, size_t n)
{
        unsigned f = 0;

        if (n == 0)
                return RULE_FAMILY_IPV4 | RULE_FAMILY_IPV6; /* no list: any address of either family */
        for (size_t i = 0; i < n; i++)
                f |= p[i].family == AF_INET ? RULE_FAMILY_IPV4 : RULE_FAMILY_IPV6;
        return f;
}

unsigned rule_families(const Rule *r)
{
        unsigned f = RULE_FAMILY_IPV4 | RULE_FAMILY_IPV6;

        if (r->protocol == RULE_PROTO_ICMP)
                f = RULE_FAMILY_IPV4;
        else if (r->protocol == RULE_PROTO_ICMPV6)
                f = RULE_FAMILY_IPV6;
        return f & list_families(r->source, r->n_source) & list_families(r->destination, r->n_destination);
}
