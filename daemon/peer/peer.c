/* org.dlrd1.Peer: one sd-bus connection per direction and pair of hosts. This host calls its peers only over
 * the connections it opened itself (to every member) and serves calls only on the ones it accepted. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "hostkey.h"
#include "manager.h"
#include "peer.h"
#include "seen.h"
#include "shared/cleanup.h"
#include "shared/log.h"
#include "shared/time.h"
#include "state/json.h"
#include "state/peer-address.h"
#include "state/redact.h"

#define USEC_PER_SEC 1000000ULL
#define PEER_PATH "/org/dlrd1"
#define SYNC_INTERVAL_USEC (5 * USEC_PER_SEC)
/* After a comparison found a difference that changes still on their way could explain, the next one comes
 * this soon; by then they have arrived, or the difference is real. */
#define RECHECK_USEC (1 * USEC_PER_SEC)
#define BACKOFF_MIN_MSEC 100u
#define BACKOFF_MAX_MSEC 10000u
#define INBOUND_MAX 256u
/* Connections that have not proved membership yet, in all and per uid: over either cap the oldest such
 * connection is closed to make room; each gets HELLO_TIMEOUT_USEC to prove it. */
#define UNPROVEN_MAX 32u
#define UNPROVEN_PER_UID_MAX 8u
#define CALL_TIMEOUT_USEC (300 * USEC_PER_SEC)
#define HELLO_TIMEOUT_USEC (10 * USEC_PER_SEC)
/* How long this host waits for a peer's answers to its own Challenge and Hello: a member's loop may be busy
 * for a while (a large merge), and a timeout here costs a whole reconnection. */
#define HANDSHAKE_CALL_TIMEOUT_USEC (60 * USEC_PER_SEC)
/* accept() failing for lack of descriptors or memory: the socket stays readable, so listening pauses. */
#define ACCEPT_PAUSE_USEC (1 * USEC_PER_SEC)
/* Pushes waiting to be written to one peer: beyond this it gets the next whole-state exchange instead. */
#define PUSH_QUEUE_MAX 1024u
/* A removed member is sent the state that says so, and then closed, within this time. */
#define FAREWELL_USEC (5 * USEC_PER_SEC)
/* Per inbound connection: calls and bytes a peer may send, as token buckets (burst, refill per second). */
#define RATE_CALLS_PER_SEC_DEFAULT 2000u /* --peer-rate; the burst is twice the rate */
#define RATE_BYTES_BURST (512.0 * 1024 * 1024)
#define RATE_BYTES_PER_SEC (128.0 * 1024 * 1024)
#define RATE_LOG_INTERVAL_USEC (5 * USEC_PER_SEC) /* at most one line this often per peer on refused calls */

typedef struct PeerConn {
        Peers *peers;
        sd_bus *bus;
        char *host;    /* outbound: the member; inbound: as its Hello said */
        char *address; /* outbound only */
        bool outbound;
        bool ready;    /* outbound: Hello answered; inbound: the peer proved who it is */
        bool doomed;   /* closed and freed at the next turn of the loop, never inside a callback of its own */
        bool farewell; /* outbound to a removed member: its last state is on the way */
        uint8_t nonce_mine[HANDSHAKE_NONCE_LEN], nonce_theirs[HANDSHAKE_NONCE_LEN];
        bool challenged;      /* inbound: Challenge answered, Hello may follow */
        bool deadline_renewed; /* inbound: the deadline was given once more after Challenge */
        char *claimed;        /* inbound: the host its Challenge named */
        char *key;            /* inbound: the key it proved */
        bool joining;         /* inbound: accepted as the first member of a host that had none */
        uid_t uid;            /* inbound: who connected (SO_PEERCRED) */
        uint64_t accepted;    /* inbound: when (monotonic), to find the oldest unproven one */
        sd_event_source *deadline; /* inbound: closes it unless it proves membership in time */
        bool syncing, sync_again;
        unsigned backoff_ms;
        sd_event_source *retry;
        uint64_t last_match; /* realtime usec: when a digest comparison that found us equal was sent */
        uint64_t digest_sent;
        char digest[65]; /* outbound: what the peer last said its Digest was */
        /* Outbound: the pushes to this peer may have a gap (not connected at a change, a push refused), so
         * pushes wait and the next comparison exchanges whole states. */
        bool need_full;
        /* Outbound: the last comparison found a difference; what both sides had seen then, and the vector
         * the peer reported with the comparison that is pulling its state now. */
        bool suspect;
        SeenVec mine_then, theirs_then, pulling;
        sd_event_source *recheck;
        double calls, bytes; /* inbound token buckets */
        uint64_t refilled;
        uint64_t refused, refused_logged; /* inbound: calls refused since the last line about them; when */
} PeerConn;

struct Peers {
        Manager *m;
        int listen_fd;
        sd_event_source *listen_source, *timer;
        PeerConn **conns;
        size_t n_conns;
        uid_t *allow;
        size_t n_allow;
        double rate; /* calls per second per inbound connection */
        SeenVec seen;     /* newest change merged from each host, by push or state exchange */
        uint64_t own_seq; /* newest change of this host's own that was sent out */
        uint64_t full_exchanges;
        size_t last_state_len; /* bytes of the last whole state built for a peer: what the next one costs */
        sd_event_source *reaper;        /* frees doomed connections */
        sd_event_source *accept_resume; /* listening paused after accept() ran out of descriptors */
        uint64_t evict_logged; /* when the last "closing the oldest" was logged */
};

static uint64_t realtime_usec(void)
{
        return now(CLOCK_REALTIME);
}

static uint64_t mono_usec(void)
{
        return now(CLOCK_MONOTONIC);
}

/* This host's own vector: its own newest change and the newest merged from everyone else. */
static int seen_mine(const Peers *p, SeenVec *ret)
{
        SeenVec s = {};
        int r = seen_raise(&s, p->m->host_id, p->own_seq);
        for (size_t i = 0; r >= 0 && i < p->seen.n; i++)
                if (p->seen.v[i].seq > 0 && !streq(p->seen.v[i].host, p->m->host_id))
                        r = seen_raise(&s, p->seen.v[i].host, p->seen.v[i].seq);
        if (r < 0) {
                seen_clear(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* Everything a peer's vector says it had is now here too (its state was merged). */
static int seen_merge(Peers *p, const SeenVec *theirs)
{
        for (size_t i = 0; i < theirs->n; i++) {
                if (streq(theirs->v[i].host, p->m->host_id))
                        p->own_seq = MAX(p->own_seq, theirs->v[i].seq);
                else if (!config_find_member(p->m->config, theirs->v[i].host))
                        continue; /* a vector names members only: nothing else is kept or passed on */
                else if (seen_raise(&p->seen, theirs->v[i].host, theirs->v[i].seq) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static void conn_forget_suspicion(PeerConn *c)
{
        c->suspect = false;
        seen_clear(&c->mine_then);
        seen_clear(&c->theirs_then);
        if (c->recheck)
                (void) sd_event_source_set_enabled(c->recheck, SD_EVENT_OFF);
}

static void conn_close_bus(PeerConn *c)
{
        /* No flush: a peer that does not read (stopped, or an ssh still authenticating) must not hold up the
         * loop; what was queued is lost, and the next connection starts with a whole-state exchange. */
        if (c->bus) {
                sd_bus_close_unref(c->bus);
                c->bus = NULL;
        }
        c->ready = c->syncing = c->sync_again = false;
        /* Pushes sent meanwhile are lost: the next connection starts with a whole-state exchange. */
        c->need_full = true;
        conn_forget_suspicion(c);
        seen_clear(&c->pulling);
}

static PeerConn *conn_free(PeerConn *c)
{
        if (!c)
                return NULL;
        conn_close_bus(c);
        sd_event_source_disable_unref(c->retry);
        sd_event_source_disable_unref(c->recheck);
        sd_event_source_disable_unref(c->deadline);
        free(c->host);
        free(c->address);
        free(c->claimed);
        free(c->key);
        free(c);
        return NULL;
}

static void peers_remove_conn(Peers *p, PeerConn *c)
{
        for (size_t i = 0; i < p->n_conns; i++)
                if (p->conns[i] == c) {
                        memmove(p->conns + i, p->conns + i + 1, (p->n_conns - i - 1) * sizeof(PeerConn *));
                        p->n_conns--;
                        break;
                }
        conn_free(c);
}

static int peers_add_conn(Peers *p, PeerConn *c)
{
        PeerConn **n = realloc(p->conns, (p->n_conns + 1) * sizeof(PeerConn *));
        if (!n)
                return -ENOMEM;
        p->conns = n;
        n[p->n_conns++] = c;
        return 0;
}

static int on_reap(sd_event_source *s, void *userdata)
{
        Peers *p = userdata;

        for (size_t i = 0; i < p->n_conns;)
                if (p->conns[i]->doomed)
                        peers_remove_conn(p, p->conns[i]);
                else
                        i++;
        return 0;
}

/* Closing a connection from one of its own callbacks (a handler, a reply, its Disconnected signal) would
 * free what sd-bus is still using: it is closed at the next turn of the loop, and ignored until then. */
static void conn_doom(PeerConn *c)
{
        Peers *p = c->peers;

        if (c->doomed)
                return;
        c->doomed = true;
        c->ready = false;
        if (c->retry)
                (void) sd_event_source_set_enabled(c->retry, SD_EVENT_OFF);
        if (p->reaper)
                (void) sd_event_source_set_enabled(p->reaper, SD_EVENT_ONESHOT);
        else if (sd_event_add_defer(p->m->event, &p->reaper, on_reap, p) < 0)
                log_oom(); /* reaped with the next one */
}

static void emit_peers_changed(Peers *p)
{
        if (p->m->bus)
                (void) sd_bus_emit_properties_changed(p->m->bus, "/org/dlrd1", "org.dlrd1.Manager", "Peers", NULL);
}

/* ------------------------------------------------------------------ outbound */

static int conn_connect(PeerConn *c);
static void conn_sync(PeerConn *c);
static bool conn_still_member(PeerConn *c);
static int on_recheck(sd_event_source *s, uint64_t usec, void *userdata);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        PeerConn *c = userdata;
        (void) conn_connect(c);
        return 0;
}

static void conn_schedule_retry(PeerConn *c)
{
        Peers *p = c->peers;
        bool was_ready = c->ready;

        conn_close_bus(c);
        if (was_ready) {
                log_info("peer=%s: disconnected", c->host);
                emit_peers_changed(p);
        }
        c->backoff_ms = c->backoff_ms ? MIN(c->backoff_ms * 2, BACKOFF_MAX_MSEC) : BACKOFF_MIN_MSEC;
        uint64_t when = mono_usec() + (uint64_t) c->backoff_ms * 1000;
        if (c->retry)
                (void) sd_event_source_set_time(c->retry, when), sd_event_source_set_enabled(c->retry, SD_EVENT_ONESHOT);
        else
                (void) sd_event_add_time(p->m->event, &c->retry, CLOCK_MONOTONIC, when, 10000, on_retry, c);
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        PeerConn *c = userdata;
        Peers *p = c->peers;

        if (c->doomed)
                return 0;
        if (c->farewell) {
                conn_doom(c);
                return 0;
        }
        if (c->outbound) {
                conn_schedule_retry(c);
                return 0;
        }
        if (c->refused > 0)
                log_warning("peer=%s: over its rate limit, refused %llu more call(s) before closing",
                        c->host ? c->host : "?", (unsigned long long) c->refused);
        if (c->host)
                log_info("peer=%s: inbound connection closed", c->host);
        conn_doom(c);
        emit_peers_changed(p);
        return 0;
}

static int on_hello_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);
static int on_challenge_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

static int call_challenge(sd_bus *b, PeerConn *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        r = sd_bus_message_new_method_call(b, &call, NULL, PEER_PATH, DLRD_PEER_INTERFACE, "Challenge");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", c->peers->m->host_id);
        if (r >= 0)
                r = sd_bus_message_append_array(call, 'y', c->nonce_mine, HANDSHAKE_NONCE_LEN);
        if (r >= 0)
                r = sd_bus_call_async(b, NULL, call, on_challenge_reply, c, HANDSHAKE_CALL_TIMEOUT_USEC);
        return r;
}

static int call_hello(PeerConn *c, const uint8_t sig[HOSTKEY_SIG_LEN])
{
        Manager *m = c->peers->m;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &call, NULL, PEER_PATH, DLRD_PEER_INTERFACE, "Hello");
        if (r >= 0)
                r = sd_bus_message_append(call, "sss", m->host_id, m->vtep, hostkey_public(m->hostkey));
        if (r >= 0)
                r = sd_bus_message_append_array(call, 'y', sig, HOSTKEY_SIG_LEN);
        if (r >= 0)
                r = sd_bus_call_async(c->bus, NULL, call, on_hello_reply, c, HANDSHAKE_CALL_TIMEOUT_USEC);
        return r;
}

static int on_hello_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        PeerConn *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *host, *vtep;

        if (c->doomed)
                return 0;
        if (e) {
                log_warning("peer=%s: Hello refused: %s", c->host, e->message ? e->message : e->name);
                conn_schedule_retry(c);
                return 0;
        }
        if (sd_bus_message_read(reply, "ss", &host, &vtep) < 0 || !streq(host, c->host)) {
                log_warning("peer=%s: the host at %s says it is %s; not using it", c->host, c->address,
                        host ? host : "?");
                conn_schedule_retry(c);
                return 0;
        }
        c->ready = true;
        c->backoff_ms = 0;
        log_info("peer=%s: connected", c->host);
        emit_peers_changed(c->peers);
        conn_sync(c);
        return 0;
}

/* The server's half of the handshake: it must be the member this connection was made for, holding the key
 * pinned for it; with none pinned yet, this first contact through the member's address pins the one it
 * proved. Then this host proves itself the same way. */
static int on_challenge_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        PeerConn *c = userdata;
        Manager *m = c->peers->m;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *host, *key;
        const void *nonce, *sig;
        size_t nonce_len, sig_len;
        uint8_t mysig[HOSTKEY_SIG_LEN];
        int r;

        if (c->doomed)
                return 0;
        if (e) {
                log_warning("peer=%s: Challenge refused: %s", c->host, e->message ? e->message : e->name);
                conn_schedule_retry(c);
                return 0;
        }
        r = sd_bus_message_read(reply, "ss", &host, &key);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &nonce, &nonce_len);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &sig, &sig_len);
        if (r < 0 || nonce_len != HANDSHAKE_NONCE_LEN || hostkey_public_check(key) < 0) {
                log_warning("peer=%s: malformed answer to the challenge; not using it", c->host);
                conn_schedule_retry(c);
                return 0;
        }
        if (!streq(host, c->host)) {
                log_warning("peer=%s: the host at %s says it is %s; not using it", c->host, c->address, host);
                conn_schedule_retry(c);
                return 0;
        }
        const Member *mb = config_find_member(m->config, c->host);
        if (!mb || !streq(mb->address, c->address)) {
                conn_doom(c); /* no longer a member there: peers_update_members makes what is due */
                return 0;
        }
        if (mb->key[0] && !streq(mb->key, key)) {
                log_warning("peer=%s: presents key %s, but %s is pinned for it; not using it", c->host, key, mb->key);
                conn_schedule_retry(c);
                return 0;
        }
        memcpy(c->nonce_theirs, nonce, HANDSHAKE_NONCE_LEN);
        if (handshake_verify(key, HANDSHAKE_SERVER, m->host_id, c->host, c->nonce_mine, c->nonce_theirs, sig,
                            sig_len) < 0) {
                log_warning("peer=%s: its answer to the challenge is not signed by key %s; not using it", c->host, key);
                conn_schedule_retry(c);
                return 0;
        }
        if (!mb->key[0] && manager_pin_key(m, c->host, key) < 0) {
                conn_schedule_retry(c);
                return 0;
        }
        if (c->doomed) /* pinning changed the membership */
                return 0;
        r = handshake_sign(m->hostkey, HANDSHAKE_CLIENT, m->host_id, c->host, c->nonce_mine, c->nonce_theirs, mysig);
        if (r >= 0)
                r = call_hello(c, mysig);
        if (r < 0) {
                log_warning("peer=%s: sending Hello: %s", c->host, strerror(-r));
                conn_schedule_retry(c);
        }
        return 0;
}

static int conn_connect(PeerConn *c)
{
        Manager *m = c->peers->m;
        _cleanup_(sd_bus_unrefp) sd_bus *b = NULL;
        _cleanup_free_ char *bus_address = NULL;
        int r;

        conn_close_bus(c);
        r = sd_bus_new(&b);
        /* The member's address is data; what connects (for ssh: a fixed ssh command line) is built here. */
        if (r >= 0)
                r = peer_address_bus_for(c->address, m->peer_ssh_config, &bus_address);
        if (r >= 0)
                r = sd_bus_set_address(b, bus_address);
        if (r >= 0)
                r = sd_bus_set_description(b, c->host);
        if (r >= 0)
                r = sd_bus_start(b);
        if (r >= 0)
                r = sd_bus_attach_event(b, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_match_signal(b, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, c);
        if (r >= 0)
                r = handshake_nonce(c->nonce_mine);
        if (r >= 0)
                r = call_challenge(b, c);
        if (r < 0) {
                if (c->backoff_ms == 0 || c->backoff_ms >= BACKOFF_MAX_MSEC)
                        log_debug("peer=%s: connecting to %s: %s", c->host, c->address, strerror(-r));
                conn_schedule_retry(c);
                return r;
        }
        /* Replies and errors take the method call timeout set here for every call on this connection. */
        (void) sd_bus_set_method_call_timeout(b, CALL_TIMEOUT_USEC);
        c->bus = TAKE_PTR(b);
        return 0;
}

static void conn_sync_done(PeerConn *c)
{
        c->syncing = false;
        if (c->sync_again) {
                c->sync_again = false;
                conn_sync(c);
        }
}

static int on_push_state_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        PeerConn *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (c->doomed)
                return 0;

        if (e)
                log_warning("peer=%s: sending our state: %s", c->host, e->message ? e->message : e->name);
        conn_sync_done(c);
        return 0;
}

/* Sends this host's whole state, with the vector it covers, over c. */
static int conn_put_state(PeerConn *c, sd_bus_message_handler_t callback)
{
        Peers *p = c->peers;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_free_ char *doc = NULL;
        SeenVec mine = {};
        size_t len;
        int r;

        r = config_to_mirror(p->m->config, &doc, &len);
        if (r >= 0)
                r = seen_mine(p, &mine);
        if (r >= 0)
                r = sd_bus_message_new_method_call(c->bus, &call, NULL, PEER_PATH, DLRD_PEER_INTERFACE, "PutState");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", p->m->host_id);
        if (r >= 0)
                r = seen_append(call, &mine);
        if (r >= 0)
                r = sd_bus_message_append(call, "s", doc);
        if (r >= 0)
                r = sd_bus_call_async(c->bus, NULL, call, callback, c, 0);
        seen_clear(&mine);
        if (r >= 0)
                /* Everything up to now is in this state: later changes can be pushed one by one again. */
                c->need_full = false;
        return r;
}

static int on_state_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        PeerConn *c = userdata;
        Peers *p = c->peers;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *doc;
        DlrError de = {};

        if (c->doomed)
                return 0;
        if (e || sd_bus_message_read(reply, "s", &doc) < 0) {
                log_warning("peer=%s: fetching its state: %s", c->host, e && e->message ? e->message : "bad reply");
                seen_clear(&c->pulling);
                conn_sync_done(c);
                return 0;
        }
        if (manager_peer_merge(p->m, c->host, doc, strlen(doc), &de) < 0)
                log_warning("peer=%s: its state was refused: %s", c->host, de.msg);
        else if (seen_merge(p, &c->pulling) < 0)
                log_oom();
        seen_clear(&c->pulling);
        if (c->doomed) /* the state it sent removed it, or this host */
                return 0;

        /* Whatever it lacks, it takes from ours the same way. */
        if (conn_put_state(c, on_push_state_reply) < 0)
                conn_sync_done(c);
        return 0;
}

static int on_status_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        PeerConn *c = userdata;
        Peers *p = c->peers;
        Manager *m = p->m;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *digest;
        SeenVec theirs = {}, mine = {};

        if (c->doomed)
                return 0;

        if (e || sd_bus_message_read(reply, "s", &digest) < 0 || seen_read(reply, &theirs) < 0) {
                if (e)
                        log_debug("peer=%s: comparing states: %s", c->host, e->message ? e->message : e->name);
                else
                        log_warning("peer=%s: comparing states: bad reply", c->host);
                conn_sync_done(c);
                return 0;
        }
        snprintf(c->digest, sizeof c->digest, "%s", digest);
        if (streq(digest, manager_digest(m))) {
                c->last_match = c->digest_sent;
                c->need_full = false;
                conn_forget_suspicion(c);
                seen_clear(&theirs);
                conn_sync_done(c);
                return 0;
        }
        if (seen_mine(p, &mine) < 0) {
                seen_clear(&theirs);
                conn_sync_done(c);
                return 0;
        }
        if (c->need_full || seen_difference_is_real(c->suspect, &c->mine_then, &c->theirs_then, &mine, &theirs)) {
                p->full_exchanges++;
                log_info("peer=%s: states differ (%s), exchanging them whole", c->host,
                        c->need_full ? "reconnected or a change was not taken" : "not explained by changes in flight");
                conn_forget_suspicion(c);
                seen_clear(&mine);
                seen_clear(&c->pulling);
                c->pulling = theirs;
                if (sd_bus_call_method_async(c->bus, NULL, NULL, PEER_PATH, DLRD_PEER_INTERFACE, "GetState",
                                    on_state_reply, c, "") < 0) {
                        seen_clear(&c->pulling);
                        conn_sync_done(c);
                }
                return 0;
        }
        /* Probably changes on their way: remember what each side had, and look again soon. */
        bool first = !c->suspect;
        conn_forget_suspicion(c);
        c->suspect = true;
        c->mine_then = mine;
        c->theirs_then = theirs;
        log_debug("peer=%s: states differ, checking again", c->host);
        if (first) {
                uint64_t when = mono_usec() + RECHECK_USEC;
                if (c->recheck)
                        (void) sd_event_source_set_time(c->recheck, when),
                                sd_event_source_set_enabled(c->recheck, SD_EVENT_ONESHOT);
                else
                        (void) sd_event_add_time(m->event, &c->recheck, CLOCK_MONOTONIC, when, 10000, on_recheck, c);
        }
        conn_sync_done(c);
        return 0;
}

/* Compares states (Digest and what each side has seen); see on_status_reply. */
static void conn_sync(PeerConn *c)
{
        if (!c->ready)
                return;
        if (c->syncing) {
                c->sync_again = true;
                return;
        }
        c->digest_sent = realtime_usec();
        c->syncing = true;
        if (sd_bus_call_method_async(c->bus, NULL, NULL, PEER_PATH, DLRD_PEER_INTERFACE, "Status", on_status_reply, c,
                            "") < 0)
                c->syncing = false;
}

static int on_recheck(sd_event_source *s, uint64_t usec, void *userdata)
{
        conn_sync(userdata);
        return 0;
}

static int on_push_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        PeerConn *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (c->doomed)
                return 0;

        if (e) {
                /* The peer missed this change: whole states are exchanged next. */
                log_warning("peer=%s: change not taken: %s", c->host, e->message ? e->message : e->name);
                c->need_full = true;
                conn_sync(c);
        }
        return 0;
}

void peers_broadcast(Peers *p, const char *doc, uint64_t seq)
{
        if (!p)
                return;
        p->own_seq = MAX(p->own_seq, seq);
        for (size_t i = 0; i < p->n_conns; i++) {
                PeerConn *c = p->conns[i];
                uint64_t queued = 0;
                if (!c->outbound || c->doomed || c->farewell)
                        continue;
                /* Not connected, a whole-state exchange pending, or a peer that does not read what it is sent:
                 * the next exchange carries this change, and nothing queues without bound. */
                if (!c->ready || c->need_full || (sd_bus_get_n_queued_write(c->bus, &queued) >= 0 &&
                                                         queued >= PUSH_QUEUE_MAX)) {
                        c->need_full = true;
                        continue;
                }
                if (sd_bus_call_method_async(c->bus, NULL, NULL, PEER_PATH, DLRD_PEER_INTERFACE, "Merge", on_push_reply,
                                    c, "sts", p->m->host_id, seq, doc) < 0) {
                        c->need_full = true;
                        conn_sync(c);
                }
        }
}

void peers_sync_all(Peers *p)
{
        for (size_t i = 0; p && i < p->n_conns; i++)
                if (p->conns[i]->outbound && !p->conns[i]->doomed && !p->conns[i]->farewell)
                        conn_sync(p->conns[i]);
}

void peers_resync_all(Peers *p)
{
        for (size_t i = 0; p && i < p->n_conns; i++)
                if (p->conns[i]->outbound && !p->conns[i]->doomed && !p->conns[i]->farewell) {
                        p->conns[i]->need_full = true;
                        conn_sync(p->conns[i]);
                }
}

static PeerConn *find_outbound(Peers *p, const char *host)
{
        for (size_t i = 0; i < p->n_conns; i++)
                if (p->conns[i]->outbound && !p->conns[i]->doomed && !p->conns[i]->farewell &&
                                streq(p->conns[i]->host, host))
                        return p->conns[i];
        return NULL;
}

static int on_farewell_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        conn_doom(userdata);
        return 0;
}

static int on_farewell_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        conn_doom(userdata);
        return 0;
}

/* A member that was removed is told so before its connection goes: the whole state, with the tombstone of
 * its own record, is its last message from this host (pushes may be waiting behind a whole-state exchange).
 * It gets FAREWELL_USEC to take it. */
static void conn_farewell(PeerConn *c)
{
        Peers *p = c->peers;

        c->farewell = true;
        c->retry = sd_event_source_disable_unref(c->retry);
        if (!c->ready || conn_put_state(c, on_farewell_reply) < 0 ||
                        sd_event_add_time(p->m->event, &c->retry, CLOCK_MONOTONIC, mono_usec() + FAREWELL_USEC, 10000,
                                on_farewell_timeout, c) < 0)
                conn_doom(c);
}

void peers_update_members(Peers *p)
{
        Config *cfg;
        bool changed = false;

        if (!p)
                return;
        cfg = p->m->config;
        /* Drop connections to hosts that left or moved, and those of hosts that no longer prove membership. */
        for (size_t i = 0; i < p->n_conns; i++) {
                PeerConn *c = p->conns[i];
                if (c->doomed || c->farewell)
                        continue;
                if (!c->outbound) {
                        if (c->ready && !conn_still_member(c)) {
                                log_info("peer=%s: closing its inbound connection: no longer a member", c->host);
                                conn_doom(c);
                                changed = true;
                        }
                        continue;
                }
                const Member *mb = config_find_member(cfg, c->host);
                if (!mb || !streq(mb->address, c->address) || streq(c->host, p->m->host_id) ||
                                manager_removed(p->m)) {
                        log_info("peer=%s: no longer a member at %s", c->host, c->address);
                        if (!mb && config_find_tomb(cfg, TOMB_MEMBER, "", c->host))
                                conn_farewell(c);
                        else
                                conn_doom(c);
                        changed = true;
                }
        }
        /* A host that was removed connects to nobody: its members connect to it when they add it again. */
        for (size_t i = 0; !manager_removed(p->m) && i < cfg->n_members; i++) {
                const Member *mb = cfg->members[i];
                if (streq(mb->host, p->m->host_id) || find_outbound(p, mb->host))
                        continue;
                PeerConn *c = calloc(1, sizeof(PeerConn));
                if (!c)
                        return;
                *c = (PeerConn) { .peers = p, .outbound = true };
                c->host = strdup(mb->host);
                c->address = strdup(mb->address);
                if (!c->host || !c->address || peers_add_conn(p, c) < 0) {
                        conn_free(c);
                        return;
                }
                (void) conn_connect(c);
                changed = true;
        }
        if (changed)
                emit_peers_changed(p);
}

/* One entry per member but this host: (host, address, connected) or, with digests, (host, last digest). */
static int append_members(Peers *p, sd_bus_message *reply, bool digests, bool redacted)
{
        int r = sd_bus_message_open_container(reply, 'a', digests ? "(ss)" : "(ssb)");
        if (r < 0)
                return r;
        for (size_t i = 0; p && i < p->m->config->n_members; i++) {
                const Member *mb = p->m->config->members[i];
                _cleanup_free_ char *shown = NULL;
                if (streq(mb->host, p->m->host_id))
                        continue;
                const PeerConn *out = find_outbound(p, mb->host);
                bool up = false;
                for (size_t j = 0; j < p->n_conns; j++)
                        if (p->conns[j]->ready && !p->conns[j]->farewell && p->conns[j]->host &&
                                        streq(p->conns[j]->host, mb->host))
                                up = true;
                if (!digests && redacted && peer_address_redact(mb->address, &shown) < 0)
                        return -ENOMEM;
                r = digests ? sd_bus_message_append(reply, "(ss)", mb->host, out && out->ready ? out->digest : "")
                            : sd_bus_message_append(reply, "(ssb)", mb->host, shown ? shown : mb->address, up);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

int peers_append_property(Peers *p, bool redacted, sd_bus_message *reply)
{
        return append_members(p, reply, false, redacted);
}

int peers_append_digests(Peers *p, sd_bus_message *reply)
{
        return append_members(p, reply, true, false);
}

uint64_t peers_confirmed_before(Peers *p)
{
        uint64_t min = UINT64_MAX;

        if (!p)
                return 0;
        for (size_t i = 0; i < p->m->config->n_members; i++) {
                const Member *mb = p->m->config->members[i];
                if (streq(mb->host, p->m->host_id))
                        continue;
                PeerConn *c = find_outbound(p, mb->host);
                if (!c || c->last_match == 0)
                        return 0;
                min = MIN(min, c->last_match);
        }
        return min == UINT64_MAX ? realtime_usec() : min;
}

/* ------------------------------------------------------------------ inbound: org.dlrd1.Peer */

static bool rate_take(PeerConn *c, size_t bytes)
{
        uint64_t now = mono_usec();
        double dt = (double) (now - c->refilled) / 1e6;
        c->refilled = now;
        double rate = c->peers->rate;
        c->calls = MIN(2 * rate, c->calls + dt * rate);
        c->bytes = MIN(RATE_BYTES_BURST, c->bytes + dt * RATE_BYTES_PER_SEC);
        if (c->calls < 1.0 || c->bytes < (double) bytes)
                return false;
        c->calls -= 1.0;
        c->bytes -= (double) bytes;
        return true;
}

#define PEER_ERROR_LIMIT "org.dlrd1.Error.LimitExceeded"

static int check_call(sd_bus_message *msg, PeerConn *c, size_t bytes, bool need_hello, sd_bus_error *error)
{
        if (!rate_take(c, bytes)) {
                /* Counted, and logged at most every few seconds: a line per refused call would let a
                 * flooding peer turn each excess call into log output, the load the limit is there to cap. */
                uint64_t t = mono_usec();
                c->refused++;
                if (c->refused_logged == 0 || t - c->refused_logged >= RATE_LOG_INTERVAL_USEC) {
                        log_warning("peer=%s: over its rate limit, refused %llu call(s)",
                                c->host ? c->host : "?", (unsigned long long) c->refused);
                        c->refused = 0;
                        c->refused_logged = t;
                }
                return sd_bus_error_set(error, PEER_ERROR_LIMIT, "too many calls or bytes from this peer; retry later");
        }
        if (need_hello && !c->ready)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                        "prove membership first: Challenge, then Hello");
        if (need_hello && !conn_still_member(c)) {
                conn_doom(c);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "%s is no longer a member", c->host);
        }
        return 0;
}

/* Whether an inbound connection still speaks for a member: the host it proved is one, with the key it
 * proved; or it joined this host, which still has no other member (it becomes one with its first state). */
static bool joinable(const Peers *p)
{
        const Config *cfg = p->m->config;
        return !manager_removed(p->m) &&
                (cfg->n_members == 0 || (cfg->n_members == 1 && streq(cfg->members[0]->host, p->m->host_id)));
}

static bool conn_still_member(PeerConn *c)
{
        const Member *mb = config_find_member(c->peers->m->config, c->host);

        if (mb && mb->key[0] && streq(mb->key, c->key)) {
                c->joining = false;
                return true;
        }
        return c->joining && !mb && joinable(c->peers);
}

/* The first half of the handshake: this host proves who it is by signing the client's nonce with its own,
 * which the client must sign back in Hello. One per connection. */
static int method_challenge(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        PeerConn *c = userdata;
        Manager *m = c->peers->m;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint8_t sig[HOSTKEY_SIG_LEN];
        const char *host;
        const void *nonce;
        size_t nonce_len;
        int r;

        r = check_call(msg, c, 0, false, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "s", &host);
        if (r >= 0)
                r = sd_bus_message_read_array(msg, 'y', &nonce, &nonce_len);
        if (r < 0)
                return r;
        if (c->challenged)
                return sd_bus_error_set(error, "org.dlrd1.Error.InvalidArgument", "one Challenge per connection");
        if (dlr_name_check(host) < 0 || nonce_len != HANDSHAKE_NONCE_LEN)
                return sd_bus_error_set(error, "org.dlrd1.Error.InvalidArgument",
                        "expected a host id and a 32-byte nonce");
        if (streq(host, m->host_id))
                return sd_bus_error_setf(error, "org.dlrd1.Error.Conflict", "this host is %s too", host);
        c->claimed = strdup(host);
        if (!c->claimed)
                return -ENOMEM;
        memcpy(c->nonce_theirs, nonce, HANDSHAKE_NONCE_LEN);
        r = handshake_nonce(c->nonce_mine);
        if (r >= 0)
                r = handshake_sign(m->hostkey, HANDSHAKE_SERVER, host, m->host_id, c->nonce_theirs, c->nonce_mine, sig);
        if (r < 0)
                return r;
        c->challenged = true;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "ss", m->host_id, hostkey_public(m->hostkey));
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', c->nonce_mine, HANDSHAKE_NONCE_LEN);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', sig, sizeof sig);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

/* The second half: the client signs both nonces with the key of the member it says it is. */
static int method_hello(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        PeerConn *c = userdata;
        Peers *p = c->peers;
        Manager *m = p->m;
        const char *host, *vtep, *key;
        const void *sig;
        size_t sig_len;
        int r;

        r = check_call(msg, c, 0, false, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "sss", &host, &vtep, &key);
        if (r >= 0)
                r = sd_bus_message_read_array(msg, 'y', &sig, &sig_len);
        if (r < 0)
                return r;
        if (c->ready)
                return sd_bus_error_set(error, "org.dlrd1.Error.Conflict", "this connection already said who it is");
        if (!c->challenged)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "call Challenge first");
        if (!streq(host, c->claimed))
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "the Challenge was for %s", c->claimed);
        if (hostkey_public_check(key) < 0 ||
                        handshake_verify(key, HANDSHAKE_CLIENT, host, m->host_id, c->nonce_theirs, c->nonce_mine, sig,
                                sig_len) < 0) {
                log_warning("peer=%s: an inbound connection (uid %u) failed to prove it holds key %s", host,
                        (unsigned) c->uid, hostkey_public_check(key) < 0 ? "(malformed)" : key);
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "the signature does not prove that key");
        }
        const Member *mb = config_find_member(m->config, host);
        bool join = false;
        if (!mb) {
                if (!joinable(p)) {
                        log_warning("peer=%s: refusing an inbound connection: not a member of this cluster", host);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "%s is not a member of this cluster",
                                host);
                }
                join = true;
        } else if (!mb->key[0])
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                        "no key is pinned for %s yet: this host pins it when it first connects to %s", host, host);
        else if (!streq(mb->key, key)) {
                log_warning("peer=%s: refusing an inbound connection with key %s: %s is pinned", host, key, mb->key);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "that is not the key pinned for %s", host);
        }
        c->host = strdup(host);
        c->key = strdup(key);
        if (!c->host || !c->key)
                return -ENOMEM;
        c->ready = true;
        c->joining = join;
        c->deadline = sd_event_source_disable_unref(c->deadline);
        /* One inbound connection per member: a new one replaces the old, which cannot be used to multiply
         * the member's call and byte budget. */
        for (size_t i = 0; i < p->n_conns; i++) {
                PeerConn *o = p->conns[i];
                if (o != c && !o->outbound && !o->doomed && o->ready && streq(o->host, host))
                        conn_doom(o);
        }
        log_info("peer=%s: inbound connection%s", host, join ? ", joining this host as its first member" : "");
        emit_peers_changed(p);
        return sd_bus_reply_method_return(msg, "ss", m->host_id, m->vtep);
}

static int method_digest(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        PeerConn *c = userdata;
        int r = check_call(msg, c, 0, true, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "s", manager_digest(c->peers->m));
}

static int method_status(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        PeerConn *c = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        SeenVec mine = {};
        int r = check_call(msg, c, 0, true, error);
        if (r < 0)
                return r;
        r = seen_mine(c->peers, &mine);
        if (r >= 0)
                r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", manager_digest(c->peers->m));
        if (r >= 0)
                r = seen_append(reply, &mine);
        seen_clear(&mine);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

static int method_get_state(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        PeerConn *c = userdata;
        _cleanup_free_ char *doc = NULL;
        size_t len;
        int r;

        /* A whole state costs what it weighs: the last one's size is asked of the byte budget before this one
         * is built, and the rest after. */
        r = check_call(msg, c, c->peers->last_state_len, true, error);
        if (r < 0)
                return r;
        r = config_to_mirror(c->peers->m->config, &doc, &len);
        if (r < 0)
                return r;
        if (len > c->peers->last_state_len)
                c->bytes -= (double) (len - c->peers->last_state_len);
        c->peers->last_state_len = len;
        return sd_bus_reply_method_return(msg, "s", doc);
}

static int method_merge(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        PeerConn *c = userdata;
        Peers *p = c->peers;
        const char *origin, *doc;
        uint64_t seq;
        DlrError e = {};
        int r;

        r = sd_bus_message_read(msg, "sts", &origin, &seq, &doc);
        if (r < 0)
                return r;
        size_t len = strlen(doc);
        r = check_call(msg, c, len, true, error);
        if (r < 0)
                return r;
        /* Changes come straight from the host that made them; nobody relays for someone else. */
        if (!streq(origin, c->host))
                return sd_bus_error_setf(error, "org.dlrd1.Error.InvalidArgument", "origin %s is not this peer (%s)",
                        origin, c->host);
        if (len > PEER_DOC_MAX)
                return sd_bus_error_set(error, "org.dlrd1.Error.InvalidArgument", "document too large");
        SeqSeen *s = NULL;
        if (seq > 0) {
                s = seen_for(&p->seen, origin);
                if (!s)
                        return -ENOMEM;
                if (seq <= s->seq) {
                        log_debug("peer=%s: change %llu already applied, ignoring the replay", origin,
                                (unsigned long long) seq);
                        return sd_bus_reply_method_return(msg, "");
                }
        }
        if (manager_peer_merge(p->m, origin, doc, len, &e) < 0)
                return sd_bus_error_set(error, dlr_error_kind_to_string(e.kind) ? dlr_error_kind_to_string(e.kind)
                                                                                : "org.dlrd1.Error.Internal",
                        e.msg);
        if (s)
                s->seq = seq;
        return sd_bus_reply_method_return(msg, "");
}

/* A peer's whole state and the vector of changes it covers: merged, after which this host has seen
 * everything the vector names (later pushes of older changes are replays). */
static int method_put_state(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        PeerConn *c = userdata;
        Peers *p = c->peers;
        SeenVec seen = {};
        const char *origin, *doc;
        DlrError e = {};
        int r;

        r = sd_bus_message_read(msg, "s", &origin);
        if (r < 0)
                return r;
        r = seen_read(msg, &seen);
        if (r < 0)
                return sd_bus_error_setf(error, "org.dlrd1.Error.InvalidArgument",
                        "bad vector: at most %u distinct valid host ids", SEEN_MAX);
        r = sd_bus_message_read(msg, "s", &doc);
        size_t len = r < 0 ? 0 : strlen(doc);
        if (r >= 0)
                r = check_call(msg, c, len, true, error);
        if (r >= 0 && !streq(origin, c->host))
                r = sd_bus_error_setf(error, "org.dlrd1.Error.InvalidArgument", "origin %s is not this peer (%s)",
                        origin, c->host);
        if (r >= 0 && len > PEER_DOC_MAX)
                r = sd_bus_error_set(error, "org.dlrd1.Error.InvalidArgument", "document too large");
        if (r >= 0 && manager_peer_merge(p->m, origin, doc, len, &e) < 0)
                r = sd_bus_error_set(error, dlr_error_kind_to_string(e.kind) ? dlr_error_kind_to_string(e.kind)
                                                                             : "org.dlrd1.Error.Internal",
                        e.msg);
        if (r >= 0 && seen_merge(p, &seen) < 0)
                r = -ENOMEM;
        seen_clear(&seen);
        return r < 0 ? r : sd_bus_reply_method_return(msg, "");
}

static const sd_bus_vtable peer_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("Challenge", "say", SD_BUS_PARAM(host) SD_BUS_PARAM(nonce), "ssayay",
                SD_BUS_PARAM(host) SD_BUS_PARAM(key) SD_BUS_PARAM(nonce) SD_BUS_PARAM(signature), method_challenge,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Hello", "sssay",
                SD_BUS_PARAM(host) SD_BUS_PARAM(vtep) SD_BUS_PARAM(key) SD_BUS_PARAM(signature), "ss",
                SD_BUS_PARAM(host) SD_BUS_PARAM(vtep), method_hello, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Digest", "", , "s", SD_BUS_PARAM(digest), method_digest, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Status", "", , "sa(st)", SD_BUS_PARAM(digest) SD_BUS_PARAM(seen), method_status,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetState", "", , "s", SD_BUS_PARAM(state), method_get_state,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Merge", "sts", SD_BUS_PARAM(origin) SD_BUS_PARAM(seq) SD_BUS_PARAM(document), "", ,
                method_merge, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("PutState", "sa(st)s", SD_BUS_PARAM(origin) SD_BUS_PARAM(seen) SD_BUS_PARAM(document),
                "", , method_put_state, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static bool uid_allowed(Peers *p, uid_t uid)
{
        if (uid == 0 || uid == geteuid())
                return true;
        for (size_t i = 0; i < p->n_allow; i++)
                if (p->allow[i] == uid)
                        return true;
        return false;
}

static int on_hello_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        PeerConn *c = userdata;

        /* This host's own loop may have been busy past the deadline (a large merge, a slow kernel): what the
         * peer sent meanwhile counts, so it is read first. A connection that got as far as Challenge gets the
         * time once more for its Hello. */
        for (unsigned i = 0; i < 8 && !c->ready && !c->doomed; i++)
                if (sd_bus_process(c->bus, NULL) <= 0)
                        break;
        if (c->ready || c->doomed)
                return 0;
        if (c->challenged && !c->deadline_renewed) {
                c->deadline_renewed = true;
                (void) sd_event_source_set_time(s, mono_usec() + HELLO_TIMEOUT_USEC);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        log_warning("Peer socket: closing a connection from uid %u that did not prove membership in time",
                (unsigned) c->uid);
        conn_doom(c);
        return 0;
}

static int on_accept_resume(sd_event_source *s, uint64_t usec, void *userdata)
{
        Peers *p = userdata;
        (void) sd_event_source_set_enabled(p->listen_source, SD_EVENT_ON);
        return 0;
}

/* accept() fails while the connection stays queued, so the socket stays readable: without a pause the loop
 * would spin on it. Listening resumes after ACCEPT_PAUSE_USEC. */
static void accept_pause(Peers *p, int error)
{
        static uint64_t logged;
        uint64_t t = mono_usec();

        if (logged == 0 || t - logged >= RATE_LOG_INTERVAL_USEC) {
                log_warning("Peer socket: accepting a connection: %s; pausing for a second", strerror(error));
                logged = t;
        }
        (void) sd_event_source_set_enabled(p->listen_source, SD_EVENT_OFF);
        if (p->accept_resume) {
                (void) sd_event_source_set_time(p->accept_resume, t + ACCEPT_PAUSE_USEC);
                (void) sd_event_source_set_enabled(p->accept_resume, SD_EVENT_ONESHOT);
        } else if (sd_event_add_time(p->m->event, &p->accept_resume, CLOCK_MONOTONIC, t + ACCEPT_PAUSE_USEC, 10000,
                           on_accept_resume, p) < 0)
                (void) sd_event_source_set_enabled(p->listen_source, SD_EVENT_ON);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Peers *p = userdata;
        _cleanup_(sd_bus_unrefp) sd_bus *b = NULL;
        _cleanup_close_ int cfd = -EBADF;
        struct ucred cred;
        socklen_t cl = sizeof cred;
        sd_id128_t id;
        size_t n_in = 0, n_unproven = 0, n_uid = 0;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        accept_pause(p, errno);
                return 0;
        }
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || !uid_allowed(p, cred.uid)) {
                log_warning("Peer socket: refusing a connection from uid %d, not on the allow list",
                        cl == sizeof cred ? (int) cred.uid : -1);
                return 0;
        }
        PeerConn *oldest = NULL, *oldest_uid = NULL;
        for (size_t i = 0; i < p->n_conns; i++) {
                PeerConn *o = p->conns[i];
                if (o->outbound || o->doomed)
                        continue;
                n_in++;
                if (!o->ready) {
                        n_unproven++;
                        if (!oldest || o->accepted < oldest->accepted)
                                oldest = o;
                        if (o->uid == cred.uid) {
                                n_uid++;
                                if (!oldest_uid || o->accepted < oldest_uid->accepted)
                                        oldest_uid = o;
                        }
                }
        }
        if (n_in >= INBOUND_MAX && n_unproven == 0) {
                log_warning("Peer socket: refusing a connection from uid %u: %zu connections (limit %u)",
                        (unsigned) cred.uid, n_in, INBOUND_MAX);
                return 0;
        }
        /* Over a cap on connections that have not proven membership, the oldest of them (of this uid, when
         * it is this uid's cap) makes room: an honest peer proves itself in a few round trips, so idle
         * connections cannot lock the members out, however many are opened. */
        PeerConn *evict = n_uid >= UNPROVEN_PER_UID_MAX                     ? oldest_uid
                          : n_unproven >= UNPROVEN_MAX || n_in >= INBOUND_MAX ? oldest
                                                                              : NULL;
        if (evict) {
                uint64_t t = mono_usec();
                if (p->evict_logged == 0 || t - p->evict_logged >= RATE_LOG_INTERVAL_USEC) {
                        log_warning("Peer socket: %zu connection(s) not yet proven, %zu of them uid %u's (limits %u, "
                                "%u): closing the oldest", n_unproven, n_uid, (unsigned) cred.uid, UNPROVEN_MAX,
                                UNPROVEN_PER_UID_MAX);
                        p->evict_logged = t;
                }
                conn_doom(evict);
        }
        PeerConn *c = calloc(1, sizeof(PeerConn));
        if (!c)
                return 0;
        *c = (PeerConn) { .peers = p, .calls = 2.0 * p->rate, .bytes = RATE_BYTES_BURST, .refilled = mono_usec(),
                .uid = cred.uid, .accepted = mono_usec() };
        r = sd_bus_new(&b);
        if (r >= 0)
                r = sd_bus_set_fd(b, cfd, cfd);
        if (r >= 0)
                TAKE_FD(cfd);
        if (r >= 0)
                r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_set_server(b, 1, id);
        if (r >= 0)
                r = sd_bus_add_object_vtable(b, NULL, PEER_PATH, DLRD_PEER_INTERFACE, peer_vtable, c);
        if (r >= 0)
                r = sd_bus_match_signal(b, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, c);
        if (r >= 0)
                r = sd_bus_start(b);
        if (r >= 0)
                r = sd_bus_attach_event(b, p->m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_event_add_time(p->m->event, &c->deadline, CLOCK_MONOTONIC, mono_usec() + HELLO_TIMEOUT_USEC,
                        100000, on_hello_deadline, c);
        if (r >= 0)
                r = peers_add_conn(p, c);
        if (r < 0) {
                log_warning("Peer socket: setting up a connection: %s", strerror(-r));
                sd_event_source_disable_unref(c->deadline);
                free(c);
                return 0;
        }
        c->bus = TAKE_PTR(b);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Peers *p = userdata;
        peers_sync_all(p);
        manager_collect_tombs(p->m);
        (void) sd_event_source_set_time(s, usec + SYNC_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int listen_socket(const char *path)
{
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* A socket file left by a previous run: nobody can be listening on it, as this process would not
         * have got this far with another dlrd owning the bus name. */
        (void) unlink(path);
        mode_t old = umask(0117);
        int r = bind(fd, (struct sockaddr *) &sa, sizeof sa);
        umask(old);
        if (r < 0)
                return -errno;
        if (listen(fd, 64) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int peers_start(Manager *m, const uid_t *allow, size_t n_allow)
{
        Peers *p = calloc(1, sizeof(Peers));
        int r;

        if (!p)
                return log_oom();
        p->m = m;
        p->listen_fd = -EBADF;
        p->rate = m->peer_rate > 0 ? m->peer_rate : RATE_CALLS_PER_SEC_DEFAULT;
        m->peers = p;
        if (n_allow > 0) {
                p->allow = malloc(n_allow * sizeof(uid_t));
                if (!p->allow)
                        return log_oom();
                memcpy(p->allow, allow, n_allow * sizeof(uid_t));
                p->n_allow = n_allow;
        }
        p->listen_fd = listen_socket(m->peer_socket);
        if (p->listen_fd < 0)
                return log_error_errno(p->listen_fd, "Listening on the peer socket %s: %m", m->peer_socket);
        r = sd_event_add_io(m->event, &p->listen_source, p->listen_fd, EPOLLIN, on_accept, p);
        if (r >= 0)
                r = sd_event_add_time(m->event, &p->timer, CLOCK_MONOTONIC, mono_usec() + SYNC_INTERVAL_USEC,
                        100000, on_timer, p);
        if (r < 0)
                return log_error_errno(r, "Setting up the peer socket: %m");
        log_info("Peer socket %s", m->peer_socket);
        peers_update_members(p);
        return 0;
}

void peers_free(Peers *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_conns; i++)
                conn_free(p->conns[i]);
        free(p->conns);
        sd_event_source_disable_unref(p->listen_source);
        sd_event_source_disable_unref(p->timer);
        sd_event_source_disable_unref(p->reaper);
        sd_event_source_disable_unref(p->accept_resume);
        if (p->listen_fd >= 0)
                close(p->listen_fd);
        seen_clear(&p->seen);
        free(p->allow);
        free(p);
}
