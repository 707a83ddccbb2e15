/* Mirroring between hosts: the peer socket where other dlrd instances connect (org.dlrd1.Peer only), the
 * outgoing connections to every member, pushes of each change, and the digest comparison that pulls the
 * whole state when two hosts differ. Only D-Bus over unix sockets (or a command such as ssh that speaks it
 * on stdio): dlrd never opens a network socket. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>

typedef struct Manager Manager;
typedef struct Peers Peers;

#define DLRD_PEER_INTERFACE "org.dlrd1.Peer"
#define PEER_DOC_MAX ((size_t) 128 * 1024 * 1024) /* sd-bus's own message limit */

/* Listens on m->peer_socket and connects to every member but this host. allow lists the uids that may
 * connect (root and dlrd's own uid are always allowed). */
int peers_start(Manager *m, const uid_t *allow, size_t n_allow);
void peers_free(Peers *p);

/* The members changed: connect to new ones, drop connections to removed ones. */
void peers_update_members(Peers *p);
/* Sends one change (a mirrored document) to every connected member. seq orders this host's changes. */
void peers_broadcast(Peers *p, const char *doc, uint64_t seq);
/* Appends the Peers property, a(ssb): host, bus address, connected; redacted: each address as a caller that
 * is not root may see it (state/redact.h). */
int peers_append_property(Peers *p, bool redacted, sd_bus_message *reply);
/* Appends the PeerDigests property, a(ss): host, the Digest it reported at the last comparison ("" when
 * not connected or not compared yet). */
int peers_append_digests(Peers *p, sd_bus_message *reply);
/* Latest time (realtime usec) before which every member has confirmed holding this host's configuration,
 * or 0 when some member has not: tombstones older than that can go. */
uint64_t peers_confirmed_before(Peers *p);
/* Compare states with every connected member now rather than at the next periodic check. */
void peers_sync_all(Peers *p);
/* A change could not be pushed as a document: exchange whole states with every member. */
void peers_resync_all(Peers *p);
