/* Which links may become VM ports. Plugging a link into a LIF bridge takes it away from whatever used it, so
 * the links this host's own connectivity and dlrd itself run on never may. */
#pragma once

#include <errno.h>

#include "kernel/kernel.h"
#include "shared/addr.h"

typedef enum PortRefusal {
        PORT_ALLOWED,
        PORT_LOOPBACK,
        PORT_OURS,     /* one of dlrd's links (names.h) */
        PORT_UPLINK,   /* the parent of VLAN LIFs, --uplink */
        PORT_VTEP,     /* carries the VTEP address: the underlay */
        PORT_UNDERLAY, /* what the uplink or the VTEP device is built on: a VLAN's parent, a bridge's port */
        _PORT_REFUSAL_MAX,
        _PORT_REFUSAL_INVALID = -EINVAL,
} PortRefusal;

/* What a refused link is, for messages: "the uplink (--uplink)"; NULL for PORT_ALLOWED. */
const char *port_refusal_to_string(PortRefusal r);
PortRefusal port_refusal_from_string(const char *s);

/* Decides for every link of a dump whether it may be a VM port: *ret gets an array parallel to links->v.
 * Refused are the loopback device, dlrd's own links, the link named uplink (NULL or "": none), each link that
 * carries vtep's address (NULL: none) in addrs, and, transitively, what those two depend on: the parent of a
 * VLAN, MACVLAN or IPVLAN device in the same namespace, and the ports of a bridge or bond. Devices stacked on
 * top of them (a macvlan on the uplink) and a veth's peer are not refused. Returns 0 or -ENOMEM. */
int port_refusals(const KLinks *links, const KAddrs *addrs, const IpPrefix *vtep, const char *uplink,
                PortRefusal **ret);
