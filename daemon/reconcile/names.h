/* The kernel names of dlrd's objects. Everything dlrd owns is recognisable by these names alone, which is
 * how it adopts its objects after a restart and how it never touches anyone else's. */
#pragma once

#include <net/if.h>
#include <stdbool.h>

#include "state/config.h"

void router_vrf_name(const Router *r, char ret[IFNAMSIZ]);
void lif_bridge_name(const Lif *l, char ret[IFNAMSIZ]);
void lif_port_name(const Lif *l, char ret[IFNAMSIZ]);

/* True for names dlrd creates: "dlvrf", "dlbr", "dlvx", "dlbv", "dlvl" followed by a decimal number
 * without leading zeros. */
bool link_name_is_ours(const char *name);
