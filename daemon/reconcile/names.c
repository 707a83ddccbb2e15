/* Naming of dlrd's links: derived from the table id or the segment, which are unique cluster-wide, so the
 * names fit IFNAMSIZ whatever the operator calls routers and LIFs. */
#include <stdio.h>
#include <string.h>

#include "names.h"

void router_vrf_name(const Router *r, char ret[IFNAMSIZ])
{
        snprintf(ret, IFNAMSIZ, "dlvrf%u", r->table);
}

void lif_bridge_name(const Lif *l, char ret[IFNAMSIZ])
{
        snprintf(ret, IFNAMSIZ, "%s%u", l->kind == LIF_KIND_VXLAN ? "dlbr" : "dlbv", l->segment);
}

void lif_port_name(const Lif *l, char ret[IFNAMSIZ])
{
        snprintf(ret, IFNAMSIZ, "%s%u", l->kind == LIF_KIND_VXLAN ? "dlvx" : "dlvl", l->segment);
}

bool link_name_is_ours(const char *name)
{
        static const char *const prefixes[] = { "dlvrf", "dlbr", "dlvx", "dlbv", "dlvl" };

        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
                size_t n = strlen(prefixes[i]);
                if (strncmp(name, prefixes[i], n) != 0)
                        continue;
                const char *d = name + n;
                if (*d == 0 || (*d == '0'))
                        return false;
                for (; *d; d++)
                        if (*d < '0' || *d > '9')
                                return false;
                return true;
        }
        return false;
}
