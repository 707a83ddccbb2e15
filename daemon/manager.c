/* Accepted changes flow here: validate against the configuration, realise in the kernel, save, then tell
 * the bus. Kernel drift is noticed through netlink notifications and repaired by the same reconcile code. */
#include <errno.h>
#include <malloc.h>
#include <net/if.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <systemd/sd-daemon.h>

#include "bus/bus.h"
#include "peer/peer.h"
#include "state/merge.h"
#include "shared/time.h"
#include "kernel/kernel.h"
#include "manager.h"
#include "manager-internal.h"
#include "nft/nft.h"
#include "peer/hostkey.h"
#include "persist.h"
#include "reconcile/names.h"
#include "shared/cleanup.h"
#include "shared/log.h"
#include "state/json.h"
#include "state/peer-address.h"

static uint64_t now_usec(void)
{
        return now(CLOCK_MONOTONIC);
}

#define RESYNC_DELAY_USEC (50 * 1000ULL)
#define PERIODIC_USEC (300 * 1000000ULL)

static int schedule_resync(Manager *m, bool links, bool routes);
static int replay_journal(Manager *m);

static char *strdup_or_null(const char *s, bool *oom)
{
        char *d;
        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *oom = true;
        return d;
}

static void save_retry_arm(Manager *m);

int manager_new(const ManagerOptions *o, Manager **ret)
{
        Manager *m;
        IpPrefix vtep;
        bool oom = false;
        int r;

        if (dlr_name_check(o->host_id) < 0)
                return log_error_errno(-EINVAL, "--host-id: expected 1-64 characters of A-Z a-z 0-9 _ . -");
        if (ip_addr_parse(o->vtep, &vtep) < 0 || ip_addr_check_unicast(&vtep) < 0)
                return log_error_errno(-EINVAL, "--vtep: expected a unicast IPv4 or IPv6 address");
        if (o->uplink && (strlen(o->uplink) == 0 || strlen(o->uplink) >= IFNAMSIZ || strchr(o->uplink, '/')))
                return log_error_errno(-EINVAL, "--uplink: not an interface name");
        if (o->peer_address) {
                const char *why;
                if (member_check(o->host_id, o->vtep, o->peer_address, NULL, &why) < 0)
                        return log_error_errno(-EINVAL, "--peer-address: %s", why);
        }
        if (o->peer_ssh_config) {
                const char *why;
                if (peer_ssh_config_check(o->peer_ssh_config, &why) < 0)
                        return log_error_errno(-EINVAL, "--peer-ssh-config: %s", why);
                if (!streq(o->peer_ssh_config, "none") && access(o->peer_ssh_config, R_OK) < 0)
                        return log_error_errno(
                                -errno, "--peer-ssh-config: cannot read %s: %m", o->peer_ssh_config);
        }

        m = calloc(1, sizeof *m);
        if (!m)
                return log_oom();
        learn_limit_init(&m->learn, NULL);
        m->host_id = strdup_or_null(o->host_id, &oom);
        m->vtep = strdup_or_null(o->vtep, &oom);
        m->bus_address = strdup_or_null(o->bus_address, &oom);
        m->peer_socket = strdup_or_null(o->peer_socket ? o->peer_socket : "/run/dlrd/peer.sock", &oom);
        m->state_dir = strdup_or_null(o->state_dir ? o->state_dir : "/var/lib/dlrd", &oom);
        m->uplink = strdup_or_null(o->uplink, &oom);
        m->peer_address_given = o->peer_address != NULL;
        m->peer_rate = o->peer_rate;
        if (o->peer_ssh_config)
                m->peer_ssh_config =
                        streq(o->peer_ssh_config, "none") ? NULL : strdup_or_null(o->peer_ssh_config, &oom);
        else if (access(DLRD_PEER_SSH_CONFIG, F_OK) == 0)
                m->peer_ssh_config = strdup_or_null(DLRD_PEER_SSH_CONFIG, &oom);
        if (o->peer_address)
                m->peer_address = strdup_or_null(o->peer_address, &oom);
        else if (m->peer_socket && asprintf(&m->peer_address, "unix:path=%s", m->peer_socket) < 0)
                oom = true;
        if (o->n_peer_allow > 0) {
                m->peer_allow = malloc(o->n_peer_allow * sizeof(uid_t));
                if (m->peer_allow) {
                        memcpy(m->peer_allow, o->peer_allow, o->n_peer_allow * sizeof(uid_t));
                        m->n_peer_allow = o->n_peer_allow;
                } else
                        oom = true;
        }
        if (oom) {
                manager_free(m);
                return log_oom();
        }

        r = reconciler_init(&m->rc, &vtep, m->uplink);
        m->rc.host_id = m->host_id;
        if (r < 0) {
                manager_free(m);
                return log_error_errno(r, "Opening rtnetlink: %m");
        }
        /* Gateway protection is always on: without nf_tables dlrd cannot run safely. */
        r = nft_new(&m->rc.nft);
        if (r < 0) {
                manager_free(m);
                return log_error_errno(r, "Opening nf_tables netlink: %m");
        }

        if (mkdir(m->state_dir, 0700) < 0 && errno != EEXIST) {
                r = log_error_errno(-errno, "Creating state directory %s: %m", m->state_dir);
                manager_free(m);
                return r;
        }

        r = hostkey_load_or_create(m->state_dir, &m->hostkey);
        if (r < 0) {
                log_error_errno(r, "Host key %s/%s: %m%s", m->state_dir, HOSTKEY_FILE,
                        r == -EPERM ? " (it must be a file of dlrd's own user that nobody else may read)" : "");
                manager_free(m);
                return r;
        }

        _cleanup_free_ char *saved = NULL;
        size_t len;
        r = persist_load(m->state_dir, &saved, &len);
        if (r == -ENOENT)
                m->config = config_new();
        else if (r < 0) {
                log_error_errno(r, "Reading saved state from %s: %m", m->state_dir);
                manager_free(m);
                return r;
        } else {
                char err[256];
                r = config_from_json_ex(saved, len, CONFIG_PARSE_STATE, &m->config, err, sizeof err);
                if (r < 0) {
                        /* Starting empty would delete every DLR of this host: refuse instead. */
                        log_error("Saved state in %s is not valid, refusing to start: %s", m->state_dir, err);
                        manager_free(m);
                        return -EINVAL;
                }
                m->snapshot_bytes = len;
                r = replay_journal(m);
                if (r < 0) {
                        manager_free(m);
                        return r;
                }
                log_info("Loaded saved state: %zu router(s), generation %llu", m->config->n_routers,
                        (unsigned long long) m->config->generation);
        }
        if (!m->config) {
                manager_free(m);
                return log_oom();
        }
        r = config_host_index(m->config, m->host_id);
        if (r < 0) {
                manager_free(m);
                return log_oom();
        }

        r = sd_event_default(&m->event);
        if (r < 0) {
                manager_free(m);
                return log_error_errno(r, "Creating event loop: %m");
        }
        if (m->need_snapshot)
                save_retry_arm(m);
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->monitor_source);
        sd_event_source_disable_unref(m->resync_source);
        sd_event_source_disable_unref(m->nft_source);
        sd_event_source_disable_unref(m->periodic_source);
        sd_event_source_disable_unref(m->save_retry_source);
        sd_event_source_disable_unref(m->post_source);
        if (m->monitor)
                mnl_socket_close(m->monitor);
        peers_free(m->peers);
        sd_bus_flush_close_unref(m->bus);
        reconciler_done(&m->rc);
        config_free(m->config);
        hostkey_free(m->hostkey);
        sd_event_unref(m->event);
        free(m->host_id);
        free(m->vtep);
        free(m->bus_address);
        free(m->peer_socket);
        free(m->state_dir);
        free(m->uplink);
        free(m->peer_address);
        free(m->peer_ssh_config);
        free(m->peer_allow);
        free(m);
        return NULL;
}

Stamp next_stamp(Manager *m)
{
        return (Stamp) { .lamport = ++m->config->lamport, .host = (uint32_t) config_host_index(m->config, m->host_id) };
}

static uint64_t realtime_usec(void)
{
        return now(CLOCK_REALTIME);
}

/* Sends one change to every peer; the Lamport time of the change orders this host's changes for them. */
void publish(Manager *m, const char *doc)
{
        if (doc)
                peers_broadcast(m->peers, doc, m->config->lamport);
}

static void publish_router(Manager *m, const Router *r)
{
        _cleanup_free_ char *doc = NULL;
        size_t len;
        if (delta_router(m->config, r, &doc, &len) >= 0)
                publish(m, doc);
        else
                peers_resync_all(m->peers);
}

static void publish_member(Manager *m, const Member *mb)
{
        _cleanup_free_ char *doc = NULL;
        size_t len;
        if (delta_member(m->config, mb, &doc, &len) >= 0)
                publish(m, doc);
        else
                peers_resync_all(m->peers);
}

static void publish_tomb(Manager *m, TombKind kind, const char *router, const char *key)
{
        _cleanup_free_ char *doc = NULL;
        size_t len;
        if (delta_tomb(m->config, kind, router, key, &doc, &len) >= 0)
                publish(m, doc);
        else
                peers_resync_all(m->peers);
}

static void publish_all(Manager *m)
{
        _cleanup_free_ char *doc = NULL;
        size_t len;
        if (config_to_mirror(m->config, &doc, &len) >= 0)
                publish(m, doc);
        else
                peers_resync_all(m->peers);
}

/* Records the tombstone a deletion leaves; taken back if the deletion fails. */
int put_tomb(Manager *m, TombKind kind, const char *router, const char *key, DlrError *e)
{
        if (config_put_tomb(m->config, kind, router, key, next_stamp(m), realtime_usec()) < 0)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        return 0;
}

/* The saved state may be behind memory or end in a refused record: the next write must be a snapshot. */
static void need_snapshot(Manager *m)
{
        m->need_snapshot = true;
        save_retry_arm(m);
}

static int storage_error(Manager *m, int r, DlrError *e)
{
        return dlr_error_set(e, DLR_ERROR_STORAGE, r, "saving state in %s: %s", m->state_dir, strerror(-r));
}

static int save(Manager *m, DlrError *e)
{
        _cleanup_free_ char *json = NULL;
        size_t len;
        int r;

        r = config_to_state(m->config, &json, &len);
        if (r < 0)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, r, "serialising state: %s", strerror(-r));
        bool torn;
        r = persist_save(m->state_dir, json, len, &torn);
        if (r < 0) {
                if (torn) {
                        log_error("State snapshot in %s could not be put back after a failed save", m->state_dir);
                        need_snapshot(m);
                }
                return storage_error(m, r, e);
        }
        m->snapshot_bytes = len;
        m->journal_bytes = 0;
        if (m->need_snapshot) {
                m->need_snapshot = false;
                m->save_retry_usec = 0;
                (void) sd_event_source_set_enabled(m->save_retry_source, SD_EVENT_OFF);
                log_info("State saved in %s again", m->state_dir);
        }
        return 0;
}

#define SAVE_RETRY_MIN_USEC (1000000ULL)
#define SAVE_RETRY_MAX_USEC (30 * 1000000ULL)

/* Keeps trying to make memory durable, so that merged changes are saved once space is back even when no
 * local call comes. */
static int on_save_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        DlrError e = {};

        if (!m->need_snapshot)
                return 0;
        /* save() has scheduled the next attempt. */
        if (save(m, &e) < 0)
                log_warning("%s; retrying in %llus", e.msg, (unsigned long long) (m->save_retry_usec / 1000000));
        return 0;
}

static void save_retry_arm(Manager *m)
{
        if (!m->event)
                return;
        m->save_retry_usec = m->save_retry_usec == 0 ? SAVE_RETRY_MIN_USEC :
                MIN(m->save_retry_usec * 2, SAVE_RETRY_MAX_USEC);
        if (!m->save_retry_source) {
                int r = sd_event_add_time_relative(m->event, &m->save_retry_source, CLOCK_MONOTONIC,
                        m->save_retry_usec, 0, on_save_retry, m);
                if (r < 0)
                        log_warning_errno(r, "Scheduling a retry of saving state: %m");
                return;
        }
        (void) sd_event_source_set_time_relative(m->save_retry_source, m->save_retry_usec);
        (void) sd_event_source_set_enabled(m->save_retry_source, SD_EVENT_ONESHOT);
}

/* Journal slack before a snapshot replaces it: small changes stay cheap, replay at start stays bounded. */
#define JOURNAL_SLACK ((size_t) 64 * 1024 * 1024)

/* Appends a record built for the generation already bumped by the caller; on failure the generation goes
 * back and the caller undoes its change. While the saved state may be behind memory, a snapshot is written
 * instead. */
static int commit_append(Manager *m, const char *rec, size_t len, DlrError *e)
{
        bool torn = false;
        int r;

        if (m->need_snapshot)
                r = save(m, e);
        else {
                r = persist_append(m->state_dir, rec, len, &torn);
                if (r < 0) {
                        if (torn) {
                                log_error("State journal in %s could not be cut back after a failed append: "
                                        "a snapshot must replace it", m->state_dir);
                                need_snapshot(m);
                        }
                        storage_error(m, r, e);
                } else
                        m->journal_bytes += len;
        }
        if (r < 0) {
                m->config->generation--;
                return r;
        }
        if (m->journal_bytes > m->snapshot_bytes + JOURNAL_SLACK) {
                DlrError e2 = {};
                /* The change is already durable in the journal; a failed compaction is retried next time. */
                if (save(m, &e2) < 0)
                        log_warning("Compacting the state journal: %s", e2.msg);
        }
        m->digest_valid = false;
        bus_emit_manager_changed(m);
        return 0;
}

/* Bumps the generation, has the caller's record built with it and appends it; on failure the generation
 * goes back and the caller undoes its change. */
int commit_record(Manager *m, int (*build)(Manager *m, void *arg, char **ret, size_t *ret_len), void *arg,
                DlrError *e)
{
        _cleanup_free_ char *rec = NULL;
        size_t len;
        int r;

        m->config->generation++;
        r = build(m, arg, &rec, &len);
        if (r < 0) {
                m->config->generation--;
                return dlr_error_set(e, DLR_ERROR_INTERNAL, r, "saving state in %s: %s", m->state_dir, strerror(-r));
        }
        return commit_append(m, rec, len, e);
}

/* The change document of a bulk route change (journal record and push to peers) is built on a second thread while the kernel takes the routes:
 * both cost about the same per route, and neither touches what the other writes (the record reads the
 * configuration and the new routes, the kernel pass only sends them). */
typedef struct RecordJob {
        const Config *config;
        const Router *router;
        const Route *routes;
        size_t n;
        char *rec;
        size_t len;
        int ret;
        pthread_t thread;
        bool threaded;
} RecordJob;

#define RECORD_THREAD_MIN 1024 /* below this a thread costs more than it saves */

static void *record_job_run(void *arg)
{
        RecordJob *j = arg;
        j->ret = delta_routes(j->config, j->router, j->routes, j->n, &j->rec, &j->len);
        return NULL;
}

static void record_job_start(RecordJob *j)
{
        j->threaded = j->n >= RECORD_THREAD_MIN && pthread_create(&j->thread, NULL, record_job_run, j) == 0;
}

static int record_job_finish(RecordJob *j)
{
        if (j->threaded)
                (void) pthread_join(j->thread, NULL);
        else
                (void) record_job_run(j);
        j->threaded = false;
        return j->ret;
}

int build_merge(Manager *m, void *arg, char **ret, size_t *ret_len)
{
        MergeRecord *d = arg;
        return journal_merge(m->config, d->doc, d->len, realtime_usec(), ret, ret_len);
}

/* Replays the journal over the snapshot. A last record without its newline was being written when the
 * daemon died, so it was never acknowledged: it is dropped. Any other bad record stops the start. */
static int replay_journal(Manager *m)
{
        _cleanup_free_ char *buf = NULL;
        size_t len, n = 0;
        char err[256];
        int r;

        r = persist_load_journal(m->state_dir, &buf, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Reading the state journal in %s: %m", m->state_dir);
        uint64_t base = m->config->generation;
        size_t skipped = 0;
        for (size_t at = 0; at < len;) {
                char *nl = memchr(buf + at, '\n', len - at);
                if (!nl) {
                        /* Cut it off now, or the next append would glue onto it. */
                        log_warning("Dropping an incomplete last journal record (%zu bytes)", len - at);
                        r = persist_cut_journal(m->state_dir, at);
                        if (r < 0) {
                                log_warning_errno(r, "Cutting the state journal back: %m; a snapshot will replace it");
                                m->need_snapshot = true;
                        }
                        len = at;
                        break;
                }
                r = config_replay_journal_after(m->config, buf + at, (size_t) (nl - (buf + at)), base, err,
                        sizeof err);
                if (r > 0)
                        skipped++;
                if (r < 0) {
                        log_error("State journal record %zu in %s is not valid, refusing to start: %s", n + 1,
                                m->state_dir, err);
                        return -EINVAL;
                }
                n++;
                at = (size_t) (nl - buf) + 1;
        }
        m->journal_bytes = len;
        if (n > skipped)
                log_info("Replayed %zu journal record(s)", n - skipped);
        if (skipped > 0)
                log_info("Skipped %zu journal record(s) the snapshot already holds", skipped);
        return 0;
}

/* Bumps the generation and saves; on failure the generation goes back and the caller undoes its change. */
static int commit(Manager *m, DlrError *e)
{
        int r;

        m->config->generation++;
        r = save(m, e);
        if (r < 0) {
                m->config->generation--;
                return r;
        }
        m->digest_valid = false;
        bus_emit_manager_changed(m);
        return 0;
}

/* After a failed change the configuration is back as it was; bring the kernel back to it too. */
static void restore_kernel(Manager *m)
{
        DlrError e2 = {};
        if (reconcile_all(&m->rc, m->config, &e2) < 0)
                log_error("Restoring the kernel after a failed change: %s", e2.msg);
}

static int realise_links(Manager *m, DlrError *e)
{
        bool changed = false;
        int r = reconcile_links(&m->rc, m->config, &changed, e);
        if (r >= 0)
                r = reconcile_ports(&m->rc, m->config, e);
        if (r >= 0 && changed)
                r = reconcile_routes(&m->rc, m->config, e);
        if (r >= 0)
                r = reconcile_neighbours(&m->rc, m->config, e);
        if (r >= 0)
                r = nft_sync(m->rc.nft, m->config, m->host_id, e);
        return r;
}

static int create_router_impl(Manager *m, const char *name, uint32_t table, DlrError *e)
{
        uint32_t t = table;
        Router *r;
        int k;

        if (dlr_name_check(name) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                        "invalid router name: use 1-64 characters of A-Z a-z 0-9 _ . -");
        if (table != 0 && dlr_table_check(table) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                        "invalid table %u: 0, 252, 253, 254 and 255 are reserved", table);
        if (config_find_router(m->config, name))
                return dlr_error_set(e, DLR_ERROR_EXISTS, -EEXIST, "router %s already exists", name);
        if (table != 0 && config_find_router_by_table(m->config, table))
                return dlr_error_set(e, DLR_ERROR_CONFLICT, -EADDRINUSE, "table %u is used by router %s", table,
                        config_find_router_by_table(m->config, table)->name);
        if (table == 0 && config_allocate_table(m->config, &t) < 0)
                return dlr_error_set(e, DLR_ERROR_CONFLICT, -ENOSPC, "no free table id left in %u-%u",
                        DLR_TABLE_AUTO_MIN, DLR_TABLE_AUTO_MAX);

        r = router_new(name, table, t);
        if (!r || config_add_router(m->config, r) < 0) {
                router_free(r);
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        }
        r->stamp = next_stamp(m);

        k = realise_links(m, e);
        if (k >= 0)
                k = commit(m, e);
        if (k < 0) {
                router_free(config_detach_router(m->config, name));
                restore_kernel(m);
                return k;
        }
        log_info("dlr=%s table=%u: created", name, t);
        bus_emit_router_added(m, r);
        publish_router(m, r);
        return 0;
}

static int delete_router_impl(Manager *m, const char *name, DlrError *e)
{
        Router *r;
        int k;

        if (dlr_name_check(name) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid router name");
        if (!config_find_router(m->config, name))
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "router %s not found", name);
        k = put_tomb(m, TOMB_ROUTER, "", name, e);
        if (k < 0)
                return k;
        r = config_detach_router(m->config, name);

        /* Deleting the VRF and its bridges drops the table's routes at once; the pass sweeps what remains
         * (blackholes). */
        k = reconcile_all(&m->rc, m->config, e);
        if (k >= 0)
                k = commit(m, e);
        if (k < 0) {
                config_add_router(m->config, r); /* capacity is there: it was just detached */
                (void) config_drop_tomb(m->config, TOMB_ROUTER, "", name);
                restore_kernel(m);
                return k;
        }
        bus_emit_router_removed(m, r);
        publish_tomb(m, TOMB_ROUTER, "", name);
        log_info("dlr=%s: deleted", name);
        router_free(r);
        malloc_trim(0);
        return 0;
}

static int create_lif_impl(Manager *m, const char *router, const char *name, const char *kind, uint32_t segment,
                char *const *addresses, size_t n_addresses, uint32_t mtu, DlrError *e)
{
        const char *why = NULL;
        Router *r;
        Lif *l;
        int k;

        if (dlr_name_check(router) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid router name");
        r = config_find_router(m->config, router);
        if (!r)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "router %s not found", router);
        k = lif_new_checked(m->config, r, name, kind, segment, addresses, n_addresses, mtu, &l, &why);
        if (k < 0)
                return dlr_error_set(e, dlr_error_kind_from_errno(k), k, "dlr=%s lif=%s: %s", router, name,
                        why ? why : strerror(-k));
        l->stamp = next_stamp(m);
        k = router_add_lif(r, l);
        if (k < 0) {
                lif_free(l);
                return dlr_error_set(e, DLR_ERROR_INTERNAL, k, "out of memory");
        }

        k = realise_links(m, e);
        if (k >= 0)
                k = commit(m, e);
        if (k < 0) {
                lif_free(router_detach_lif(r, name));
                restore_kernel(m);
                return k;
        }
        log_info("dlr=%s lif=%s %s=%u: created", router, name, lif_kind_to_string(l->kind), l->segment);
        bus_emit_lif_added(m, r, l);
        publish_router(m, r);
        return 0;
}

static int delete_lif_impl(Manager *m, const char *router, const char *name, DlrError *e)
{
        Router *r;
        Lif *l;
        int k;

        if (dlr_name_check(router) < 0 || dlr_name_check(name) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid router or LIF name");
        r = config_find_router(m->config, router);
        if (!r)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "router %s not found", router);
        l = router_find_lif(r, name);
        if (!l)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "dlr=%s: LIF %s not found", router, name);
        if (router_lif_in_use(r, l->id))
                return dlr_error_set(e, DLR_ERROR_CONFLICT, -EBUSY,
                        "dlr=%s lif=%s: routes still use this LIF; delete them first", router, name);

        k = put_tomb(m, TOMB_LIF, router, name, e);
        if (k < 0)
                return k;
        router_detach_lif(r, name);
        k = realise_links(m, e);
        if (k >= 0)
                k = commit(m, e);
        if (k < 0) {
                router_add_lif(r, l); /* keeps its id; capacity is there */
                (void) config_drop_tomb(m->config, TOMB_LIF, router, name);
                restore_kernel(m);
                return k;
        }
        bus_emit_lif_removed(m, r, l);
        publish_tomb(m, TOMB_LIF, router, name);
        log_info("dlr=%s lif=%s: deleted", router, name);
        lif_free(l);
        return 0;
}

static int add_routes_impl(Manager *m, const char *router, const RouteSpec *specs, size_t n, DlrError *e)
{
        _cleanup_free_ Route *routes = NULL, *old = NULL;
        _cleanup_free_ bool *has_old = NULL;
        RouteTable seen = {};
        Router *r;
        size_t built = 0;
        int k = 0;

        if (dlr_name_check(router) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid router name");
        r = config_find_router(m->config, router);
        if (!r)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "router %s not found", router);
        if (n == 0)
                return 0;

        routes = calloc(n, sizeof(Route));
        old = calloc(n, sizeof(Route));
        has_old = calloc(n, sizeof(bool));
        if (!routes || !old || !has_old || route_table_reserve(&seen, n) < 0) {
                route_table_done(&seen);
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        }

        uint64_t t0 = now_usec(), t1, t2, t3;
        /* Everything is checked before the kernel sees any of it. */
        for (; built < n; built++) {
                const char *why = NULL;
                k = route_build(r, specs[built].prefix, specs[built].nexthops, specs[built].n_nexthops,
                        &routes[built], &why);
                if (k < 0) {
                        k = dlr_error_set(e, dlr_error_kind_from_errno(k), k, "dlr=%s route %s: %s", router,
                                specs[built].prefix, why ? why : strerror(-k));
                        break;
                }
                Route probe = { .prefix = routes[built].prefix };
                if (route_table_get(&seen, &probe.prefix)) {
                        k = dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                                "dlr=%s route %s: given twice in one call", router, specs[built].prefix);
                        built++;
                        break;
                }
                (void) route_table_put(&seen, &probe, NULL); /* reserved: cannot fail */
                Route *cur = route_table_get(&r->routes, &routes[built].prefix);
                if (cur) {
                        old[built] = *cur; /* shallow: the configuration is untouched until commit */
                        has_old[built] = true;
                }
        }
        route_table_done(&seen);
        if (k >= 0 && route_table_reserve(&r->routes, n) < 0)
                k = dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        t1 = now_usec();
        if (k < 0) {
                for (size_t i = 0; i < built; i++)
                        route_done(&routes[i]);
                return k;
        }

        /* Stamp and generation are taken before the kernel pass so the record can be built alongside it; a
         * failed call gives the generation back (the Lamport clock only has to grow). */
        Stamp st = next_stamp(m);
        for (size_t i = 0; i < n; i++) {
                routes[i].stamp_lamport = st.lamport;
                routes[i].stamp_host = st.host;
        }
        m->config->generation++;
        RecordJob job = { .config = m->config, .router = r, .routes = routes, .n = n };
        record_job_start(&job);
        k = reconcile_routes_install(&m->rc, r, routes, old, has_old, n, e);
        int kj = record_job_finish(&job);
        _cleanup_free_ char *doc = TAKE_PTR(job.rec), *rec = NULL;
        size_t rec_len = 0;
        if (kj >= 0)
                kj = journal_merge(m->config, doc, job.len, realtime_usec(), &rec, &rec_len);
        t2 = now_usec();
        if (k >= 0 && kj < 0) {
                k = dlr_error_set(e, DLR_ERROR_INTERNAL, kj, "out of memory");
                restore_kernel(m);
        }
        if (k < 0) {
                m->config->generation--;
                for (size_t i = 0; i < built; i++)
                        route_done(&routes[i]);
                return k;
        }

        /* Commit: replaced routes are kept until the state is saved, to undo if saving fails. */
        for (size_t i = 0; i < n; i++) {
                Route prev;
                int ins = route_table_put(&r->routes, &routes[i], &prev);
                if (ins == 0)
                        old[i] = prev;
        }
        k = commit_append(m, rec, rec_len, e);
        if (k < 0) {
                for (size_t i = 0; i < n; i++) {
                        if (has_old[i])
                                (void) route_table_put(&r->routes, &old[i], NULL);
                        else
                                (void) route_table_remove(&r->routes, &routes[i].prefix, NULL);
                }
                restore_kernel(m);
                return k;
        }
        for (size_t i = 0; i < n; i++)
                if (has_old[i])
                        route_done(&old[i]);
        publish(m, doc);
        t3 = now_usec();
        if (n >= 1000) {
                log_info("dlr=%s: %zu routes added (check %.3fs, kernel %.3fs, save %.3fs)", router, n,
                        (double) (t1 - t0) / 1e6, (double) (t2 - t1) / 1e6, (double) (t3 - t2) / 1e6);
                malloc_trim(0); /* bulk calls leave megabytes of freed message and JSON buffers behind */
        }
        return 0;
}

static int delete_route_impl(Manager *m, const char *router, const char *prefix, DlrError *e)
{
        IpPrefix p;
        Router *r;
        Route *cur, saved;
        int k;

        if (dlr_name_check(router) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid router name");
        r = config_find_router(m->config, router);
        if (!r)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "router %s not found", router);
        if (ip_prefix_parse(prefix, &p) < 0 || !ip_prefix_is_network(&p))
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                        "invalid route prefix %s: expected ADDRESS/LENGTH without host bits", prefix);
        cur = route_table_get(&r->routes, &p);
        if (!cur)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "dlr=%s: no route %s", router, prefix);

        k = reconcile_route_remove(&m->rc, r, &p, e);
        if (k < 0) {
                restore_kernel(m);
                return k;
        }
        char key[IP_PREFIX_MAX_STR];
        _cleanup_free_ char *doc = NULL;
        size_t len;
        ip_prefix_to_string(&p, true, key, sizeof key);
        k = put_tomb(m, TOMB_ROUTE, r->name, key, e);
        if (k >= 0 && delta_tomb(m->config, TOMB_ROUTE, r->name, key, &doc, &len) < 0)
                k = dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        if (k < 0) {
                (void) config_drop_tomb(m->config, TOMB_ROUTE, r->name, key);
                restore_kernel(m);
                return k;
        }
        (void) route_table_remove(&r->routes, &p, &saved);
        k = commit_record(m, build_merge, &(MergeRecord) { .doc = doc, .len = len }, e);
        if (k < 0) {
                (void) route_table_put(&r->routes, &saved, NULL);
                (void) config_drop_tomb(m->config, TOMB_ROUTE, r->name, key);
                restore_kernel(m);
                return k;
        }
        route_done(&saved);
        publish(m, doc);
        return 0;
}

static void emit_diff(Manager *m, const Config *old, const Config *new)
{
        for (size_t i = 0; i < old->n_routers; i++) {
                const Router *o = old->routers[i], *n = config_find_router(new, o->name);
                for (size_t j = 0; j < o->n_lifs; j++)
                        if (!n || !router_find_lif(n, o->lifs[j]->name))
                                bus_emit_lif_removed(m, o, o->lifs[j]);
                if (!n)
                        bus_emit_router_removed(m, o);
        }
        for (size_t i = 0; i < new->n_routers; i++) {
                const Router *n = new->routers[i], *o = config_find_router(old, n->name);
                if (!o)
                        bus_emit_router_added(m, n);
                for (size_t j = 0; j < n->n_lifs; j++)
                        if (!o || !router_find_lif(o, n->lifs[j]->name))
                                bus_emit_lif_added(m, n, n->lifs[j]);
        }
}

/* Objects whose content did not change keep their stamps, so an Apply of an Export changes no stamp. */
/* The host index of a stamp re-interned in another configuration; unknown indexes become "". */
static uint32_t rehost(Config *new, const Config *old, uint32_t host)
{
        int r = config_host_index(new, host < old->n_hosts ? old->hosts[host] : "");
        return r < 0 ? 0 : (uint32_t) r;
}

static Stamp lazy_stamp(Manager *m, Stamp *st, uint32_t host)
{
        if (st->lamport == 0)
                *st = (Stamp) { .lamport = ++m->config->lamport, .host = host };
        return *st;
}

static void restamp(Manager *m, const Config *old, Config *new)
{
        uint32_t host = (uint32_t) config_host_index(new, m->host_id);
        Stamp st = {}; /* taken only if something changed, so Apply of an Export moves no clock */

        for (size_t i = 0; i < new->n_routers; i++) {
                Router *n = new->routers[i];
                const Router *o = config_find_router(old, n->name);
                bool same = o && o->table == n->table;
                n->stamp = same ? (Stamp) { o->stamp.lamport, rehost(new, old, o->stamp.host) }
                                : lazy_stamp(m, &st, host);
                for (size_t j = 0; j < n->n_lifs; j++) {
                        Lif *l = n->lifs[j];
                        const Lif *ol = o ? router_find_lif(o, l->name) : NULL;
                        bool lsame = ol && ol->kind == l->kind && ol->segment == l->segment &&
                                     ol->mtu_config == l->mtu_config && ol->n_addresses == l->n_addresses &&
                                     memcmp(ol->addresses, l->addresses, l->n_addresses * sizeof(IpPrefix)) == 0;
                        l->stamp = lsame ? (Stamp) { ol->stamp.lamport,
                                                   rehost(new, old, ol->stamp.host) }
                                         : lazy_stamp(m, &st, host);
                }
                ROUTE_TABLE_FOREACH(rt, &n->routes) {
                        const Route *orr = o ? route_table_get(&o->routes, &rt->prefix) : NULL;
                        /* LIF ids may differ between documents: compare through names. */
                        bool rsame = orr && route_equal(orr, rt);
                        if (rsame) {
                                const Nexthop *a = route_nexthops(orr), *b = route_nexthops(rt);
                                for (unsigned x = 0; x < rt->n_nexthops && rsame; x++) {
                                        const Lif *la = a[x].lif ? router_find_lif_by_id(o, a[x].lif) : NULL;
                                        const Lif *lb = b[x].lif ? router_find_lif_by_id(n, b[x].lif) : NULL;
                                        rsame = (!la && !lb) || (la && lb && streq(la->name, lb->name));
                                }
                        }
                        rt->stamp_lamport = rsame ? orr->stamp_lamport : lazy_stamp(m, &st, host).lamport;
                        rt->stamp_host = rsame ? rehost(new, old, orr->stamp_host) : host;
                }
                for (size_t j = 0; j < n->n_endpoints; j++) {
                        Endpoint *ep = n->endpoints[j];
                        const Lif *nl = router_find_lif_by_id(n, ep->lif);
                        const Lif *ol = o && nl ? router_find_lif(o, nl->name) : NULL;
                        const Endpoint *oe = ol ? router_find_endpoint(o, ol->id, ep->mac) : NULL;
                        bool esame = oe && oe->n_addresses == ep->n_addresses &&
                                     memcmp(oe->addresses, ep->addresses, ep->n_addresses * sizeof(IpPrefix)) == 0 &&
                                     streq(oe->host < old->n_hosts ? old->hosts[oe->host] : "",
                                             ep->host < new->n_hosts ? new->hosts[ep->host] : "");
                        ep->stamp = esame ? (Stamp) { oe->stamp.lamport, rehost(new, old, oe->stamp.host) }
                                          : lazy_stamp(m, &st, host);
                }
                for (size_t j = 0; j < n->n_rules; j++) {
                        Rule *ru = n->rules[j];
                        const Rule *orl = o ? router_find_rule(o, ru->name) : NULL;
                        ru->stamp = orl && rule_equal(orl, ru)
                                            ? (Stamp) { orl->stamp.lamport, rehost(new, old, orl->stamp.host) }
                                            : lazy_stamp(m, &st, host);
                }
                /* The default action keeps its stamp while it stays; a change (also back to allow, by leaving
                 * it out) is a new write peers must take. */
                if (o && o->default_action == n->default_action)
                        n->default_stamp = o->default_stamp.lamport > 0
                                                   ? (Stamp) { o->default_stamp.lamport,
                                                             rehost(new, old, o->default_stamp.host) }
                                                   : (Stamp) {};
                else if (o || n->default_action != RULE_ACTION_ALLOW)
                        n->default_stamp = lazy_stamp(m, &st, host);
                else
                        n->default_stamp = (Stamp) {};
        }
}

/* What Apply removed leaves tombstones, so peers remove it too; what it keeps keeps its tombstones and, when
 * the document names no members, the membership. */
static int carry_over(Manager *m, const Config *old, Config *new)
{
        uint32_t host = (uint32_t) config_host_index(new, m->host_id);
        uint64_t at = realtime_usec();
        Stamp st = {};
        char key[IP_PREFIX_MAX_STR];
        Stamp s;

        TOMB_SET_FOREACH(t, &old->tombs)
                if (stamp_rehost(new, old, t->stamp, &s) < 0 || config_put_tomb(new, t->kind, t->router, t->key, s,
                                                                        t->since) < 0)
                        return -ENOMEM;
        /* Ports are this host's own: Apply does not describe them. */
        for (size_t i = 0; i < old->n_ports; i++)
                if (config_add_port(new, old->ports[i].ifname, old->ports[i].router, old->ports[i].lif) < 0)
                        return -ENOMEM;
        /* Members the document names: unchanged ones keep their stamps. */
        for (size_t i = 0; i < new->n_members; i++) {
                Member *n = new->members[i];
                const Member *o = config_find_member(old, n->host);
                /* A document that leaves a key out keeps the one pinned; this host's own is its key pair's. */
                const char *want = streq(n->host, m->host_id) ? hostkey_public(m->hostkey)
                                   : !n->key[0] && o                 ? o->key
                                                                     : n->key;
                if (!streq(want, n->key)) {
                        char *k = strdup(want);
                        if (!k)
                                return -ENOMEM;
                        free(n->key);
                        n->key = k;
                }
                if (o && member_same(o, n)) {
                        if (stamp_rehost(new, old, o->stamp, &n->stamp) < 0)
                                return -ENOMEM;
                } else
                        n->stamp = lazy_stamp(m, &st, host);
        }
        /* Members it does not name stay when it names none at all, and this host always stays. */
        for (size_t i = 0; i < old->n_members; i++) {
                const Member *om = old->members[i];
                if (config_find_member(new, om->host))
                        continue;
                if (new->members_given && !streq(om->host, m->host_id)) {
                        if (config_put_tomb(new, TOMB_MEMBER, "", om->host, lazy_stamp(m, &st, host), at) < 0)
                                return -ENOMEM;
                        continue;
                }
                Member *n = member_new(om->host, &om->vtep, om->address, om->key);
                if (!n || config_add_member(new, n) < 0) {
                        member_free(n);
                        return -ENOMEM;
                }
                if (stamp_rehost(new, old, om->stamp, &n->stamp) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < old->n_routers; i++) {
                const Router *o = old->routers[i];
                const Router *n = config_find_router(new, o->name);
                if (!n) {
                        if (config_put_tomb(new, TOMB_ROUTER, "", o->name, lazy_stamp(m, &st, host), at) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (n->stamp.lamport != o->stamp.lamport)
                        continue; /* a new incarnation replaces the old one whole */
                for (size_t j = 0; j < o->n_lifs; j++)
                        if (!router_find_lif(n, o->lifs[j]->name) &&
                                        config_put_tomb(new, TOMB_LIF, o->name, o->lifs[j]->name, lazy_stamp(m, &st, host),
                                                at) < 0)
                                return -ENOMEM;
                for (size_t j = 0; j < o->n_endpoints; j++) {
                        const Endpoint *oe = o->endpoints[j];
                        const Lif *ol = router_find_lif_by_id(o, oe->lif);
                        const Lif *nl = ol ? router_find_lif(n, ol->name) : NULL;
                        char ekey[DLR_NAME_MAX + 20];
                        if (!ol || (nl && router_find_endpoint(n, nl->id, oe->mac)))
                                continue;
                        endpoint_key(ol->name, oe->mac, ekey);
                        if (config_put_tomb(new, TOMB_ENDPOINT, o->name, ekey, lazy_stamp(m, &st, host), at) < 0)
                                return -ENOMEM;
                }
                for (size_t j = 0; j < o->n_rules; j++)
                        if (!router_find_rule(n, o->rules[j]->name) &&
                                        config_put_tomb(new, TOMB_RULE, o->name, o->rules[j]->name,
                                                lazy_stamp(m, &st, host), at) < 0)
                                return -ENOMEM;
                ROUTE_TABLE_FOREACH(rt, &o->routes)
                        if (!route_table_get(&n->routes, &rt->prefix)) {
                                ip_prefix_to_string(&rt->prefix, true, key, sizeof key);
                                if (config_put_tomb(new, TOMB_ROUTE, o->name, key, lazy_stamp(m, &st, host), at) < 0)
                                        return -ENOMEM;
                        }
        }
        return 0;
}

static int apply_impl(Manager *m, const char *json, uint64_t *ret_generation, DlrError *e)
{
        _cleanup_(config_freep) Config *new = NULL;
        Config *old;
        char err[400];
        int k;

        k = config_from_json(json, strlen(json), &new, err, sizeof err);
        if (k < 0)
                return dlr_error_set(e, k == -EADDRINUSE ? DLR_ERROR_CONFLICT : k == -ENOMEM ? DLR_ERROR_INTERNAL
                                                                                              : DLR_ERROR_INVALID_ARGUMENT,
                        k, "%s", err);
        new->generation = m->config->generation;
        new->lamport = m->config->lamport;
        if (config_host_index(new, m->host_id) < 0)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");

        old = m->config;
        m->config = new;
        restamp(m, old, new);
        if (carry_over(m, old, new) < 0) {
                m->config = old;
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        }
        k = reconcile_all(&m->rc, m->config, e);
        if (k >= 0)
                k = commit(m, e);
        if (k < 0) {
                m->config = old;
                restore_kernel(m);
                return k;
        }
        new = old; /* freed on return */
        emit_diff(m, old, m->config);
        publish_all(m);
        peers_update_members(m->peers);
        *ret_generation = m->config->generation;
        log_info("Applied a configuration: %zu router(s), generation %llu", m->config->n_routers,
                (unsigned long long) m->config->generation);
        malloc_trim(0);
        return 0;
}

static int add_peer_impl(Manager *m, const char *host, const char *vtep, const char *address, const char *key,
                DlrError *e)
{
        const char *why = NULL;
        IpPrefix v;
        Member *cur, *n, *other;
        int k;

        if (member_check(host, vtep, address, &v, &why) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "%s", why);
        if (key && member_key_check(key) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                        "invalid public key: expected ed25519: and 64 lowercase hex digits (a host's PublicKey)");
        if (key && streq(host, m->host_id) && !streq(key, hostkey_public(m->hostkey)))
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                        "peer=%s is this host, whose public key is %s", host, hostkey_public(m->hostkey));
        if (streq(host, m->host_id) && !streq(vtep, m->vtep)) {
                IpPrefix mine;
                if (ip_addr_parse(m->vtep, &mine) < 0 || ip_prefix_compare(&mine, &v) != 0)
                        return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                                "peer=%s is this host, whose VTEP is %s (--vtep)", host, m->vtep);
        }
        other = config_find_member_by_vtep(m->config, &v);
        if (other && !streq(other->host, host))
                return dlr_error_set(e, DLR_ERROR_CONFLICT, -EADDRINUSE, "VTEP %s is host %s's", vtep, other->host);
        cur = config_find_member(m->config, host);
        /* Without a key given, a key already pinned stays; this host's own record always has its own. */
        if (!key || !key[0])
                key = streq(host, m->host_id) ? hostkey_public(m->hostkey) : cur ? cur->key : "";
        if (cur && ip_prefix_compare(&cur->vtep, &v) == 0 && streq(cur->address, address) && streq(cur->key, key))
                return 0; /* already so: nothing changes, not even a stamp */

        n = member_new(host, &v, address, key);
        if (!n)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        if (m->config->n_members >= DLR_MEMBERS_MAX && !cur) {
                member_free(n);
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -E2BIG, "at most %u hosts", DLR_MEMBERS_MAX);
        }
        Member *saved = cur ? config_detach_member(m->config, host) : NULL;
        n->stamp = next_stamp(m);
        k = config_add_member(m->config, n);
        if (k < 0)
                k = dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        else
                k = realise_links(m, e);
        if (k >= 0)
                k = commit(m, e);
        if (k < 0) {
                member_free(config_detach_member(m->config, host));
                if (saved)
                        (void) config_add_member(m->config, saved);
                restore_kernel(m);
                return k;
        }
        member_free(saved);
        log_info("peer=%s vtep=%s: %s at %s", host, vtep, cur ? "updated" : "added", address);
        publish_member(m, n);
        peers_update_members(m->peers);
        return 0;
}

static int remove_peer_impl(Manager *m, const char *host, DlrError *e)
{
        Member *mb;
        int k;

        if (dlr_name_check(host) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid host id");
        if (streq(host, m->host_id))
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                        "peer=%s is this host; remove it from another host", host);
        if (!config_find_member(m->config, host))
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "peer=%s not found", host);
        k = put_tomb(m, TOMB_MEMBER, "", host, e);
        if (k < 0)
                return k;
        mb = config_detach_member(m->config, host);
        k = realise_links(m, e);
        if (k >= 0)
                k = commit(m, e);
        if (k < 0) {
                (void) config_add_member(m->config, mb);
                (void) config_drop_tomb(m->config, TOMB_MEMBER, "", host);
                restore_kernel(m);
                return k;
        }
        member_free(mb);
        log_info("peer=%s: removed", host);
        publish_tomb(m, TOMB_MEMBER, "", host);
        peers_update_members(m->peers);
        return 0;
}

/* The kernel side of a merge: a link pass when structure changed, else just the routes that did. */
static int install_merged_routes(Manager *m, const MergeResult *res, DlrError *e)
{
        _cleanup_free_ Route *put = calloc(res->n_routes ? res->n_routes : 1, sizeof(Route));
        _cleanup_free_ bool *none = calloc(res->n_routes ? res->n_routes : 1, sizeof(bool));
        int k;

        if (!put || !none)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        for (size_t i = 0; i < res->n_routes;) {
                Router *r = config_find_router(m->config, res->routes[i].router);
                size_t n = 0, j = i;
                for (; j < res->n_routes && streq(res->routes[j].router, res->routes[i].router); j++) {
                        if (!r)
                                continue;
                        const Route *cur = route_table_get(&r->routes, &res->routes[j].prefix);
                        if (cur)
                                put[n++] = *cur; /* shallow: only read */
                        else {
                                k = reconcile_route_remove(&m->rc, r, &res->routes[j].prefix, e);
                                if (k < 0)
                                        return k;
                        }
                }
                if (r && n > 0) {
                        k = reconcile_routes_install(&m->rc, r, put, NULL, none, n, e);
                        if (k < 0)
                                return k;
                }
                i = j;
        }
        return 0;
}

static void emit_merged(Manager *m, const MergeResult *res)
{
        for (size_t i = 0; i < res->n_objects; i++) {
                const MergeObject *o = &res->objects[i];
                Router tr = { .name = o->router };
                Lif tl = { .name = o->lif };
                Router *r = config_find_router(m->config, o->router);
                if (o->added && !r)
                        continue;
                if (o->lif) {
                        Lif *l = r ? router_find_lif(r, o->lif) : NULL;
                        if (o->added && l)
                                bus_emit_lif_added(m, r, l);
                        else if (!o->added)
                                bus_emit_lif_removed(m, &tr, &tl);
                } else if (o->added)
                        bus_emit_router_added(m, r);
                else
                        bus_emit_router_removed(m, &tr);
        }
}

#define MERGE_JOURNAL_MAX ((size_t) 4 * 1024 * 1024) /* larger merges go into a new snapshot */

static int ensure_self_member(Manager *m, bool force);

/* This host's own member record in a peer's document: only this host writes it (§7), so a peer's version is
 * taken only when it says the same (a stamp by whoever added this host, which is harmless) and otherwise
 * dropped; when it is newer than what this host holds, this host's own version goes out again with a newer
 * stamp, so that every copy ends up with it. A peer's tombstone for it (this host's removal) merges as any
 * tombstone does; a record newer than that tombstone means an operator added this host again. */
static int take_own_record(Manager *m, Config *in, bool *ret_reissue)
{
        Member *theirs = config_find_member(in, m->host_id);
        const Member *mine = config_find_member(m->config, m->host_id);
        const Tombstone *gone = config_find_tomb(m->config, TOMB_MEMBER, "", m->host_id);
        IpPrefix v;

        *ret_reissue = false;
        if (!theirs)
                return 0;
        if (ip_addr_parse(m->vtep, &v) < 0)
                return -EINVAL;
        bool same = ip_prefix_compare(&theirs->vtep, &v) == 0 && streq(theirs->key, hostkey_public(m->hostkey)) &&
                (!m->peer_address_given || streq(theirs->address, m->peer_address));
        uint64_t ours = mine ? mine->stamp.lamport : gone ? gone->stamp.lamport : 0;
        if (same)
                return 0;
        if (theirs->stamp.lamport >= ours) {
                *ret_reissue = true;
                m->config->lamport = MAX(m->config->lamport, theirs->stamp.lamport);
        }
        member_free(config_detach_member(in, m->host_id));
        return 0;
}

/* A peer held a newer version of this host's own record than this host's own: this host's goes out again,
 * newer still, and wins everywhere. */
static void reissue_own_record(Manager *m, const char *origin)
{
        if (ensure_self_member(m, true) >= 0)
                log_info("peer=%s: held another version of this host's own member record; ours is out again", origin);
        peers_update_members(m->peers);
}

int manager_peer_merge(Manager *m, const char *origin, const char *doc, size_t len, DlrError *e)
{
        _cleanup_(config_freep) Config *in = NULL;
        MergeResult res;
        char err[400];
        uint64_t at = realtime_usec();
        int k;

        k = config_from_json_ex(doc, len, CONFIG_PARSE_MIRROR, &in, err, sizeof err);
        if (k < 0) {
                log_warning("peer=%s: refusing a document: %s", origin, err);
                return dlr_error_set(e, k == -ENOMEM ? DLR_ERROR_INTERNAL : DLR_ERROR_INVALID_ARGUMENT, k, "%s", err);
        }
        /* An honest member's clock is ahead of this host's by at most the changes made where this host did not
         * see them yet; a stamp beyond that would freeze objects and run the clock out for everyone. */
        if (in->max_lamport > m->config->lamport + DLR_STAMP_AHEAD_MAX) {
                log_warning("peer=%s: refusing a document stamped %llu, beyond this host's clock %llu + %llu", origin,
                        (unsigned long long) in->max_lamport, (unsigned long long) m->config->lamport,
                        (unsigned long long) DLR_STAMP_AHEAD_MAX);
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -ERANGE,
                        "stamp %llu is too far ahead of this host's clock (%llu; at most %llu ahead)",
                        (unsigned long long) in->max_lamport, (unsigned long long) m->config->lamport,
                        (unsigned long long) DLR_STAMP_AHEAD_MAX);
        }
        bool reissue = false;
        k = take_own_record(m, in, &reissue);
        if (k < 0)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, k, "out of memory");
        bool was_removed = manager_removed(m);
        _cleanup_(firewall_notes_freep) FirewallNotes *notes = NULL;
        if (firewall_notes_take(m->config, in, &notes) < 0)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        k = config_merge(m->config, in, at, &res);
        if (k < 0) {
                /* Every step taken is a whole update, so the configuration is valid; realise and save it. */
                log_error("peer=%s: merging ran out of memory; a full pass follows", origin);
                res.links = res.routes_overflow = res.changed = true;
        }
        if (!res.changed) {
                merge_result_done(&res);
                if (reissue)
                        reissue_own_record(m, origin);
                return 0;
        }

        DlrError ke = {};
        int kk;
        if (res.links)
                kk = reconcile_all(&m->rc, m->config, &ke);
        else {
                if (res.routes_overflow)
                        kk = reconcile_routes(&m->rc, m->config, &ke);
                else
                        kk = install_merged_routes(m, &res, &ke);
                if (kk >= 0 && res.endpoints)
                        kk = reconcile_neighbours(&m->rc, m->config, &ke);
                if (kk >= 0 && res.firewall)
                        kk = firewall_apply_merge(m, notes, (const char *const *) res.fw_routers,
                                res.n_fw_routers, &ke);
        }
        if (kk < 0) {
                /* The configuration is the cluster's; this host keeps trying to realise it. */
                log_error("peer=%s: realising its change: %s", origin, ke.msg);
                m->resync_firewall |= res.firewall;
                schedule_resync(m, res.links, true);
        }

        DlrError se = {};
        if (res.links || res.routes_overflow || len > MERGE_JOURNAL_MAX)
                kk = commit(m, &se);
        else
                kk = commit_record(m, build_merge, &(MergeRecord) { .doc = doc, .len = len }, &se);
        if (kk < 0) {
                /* The merge stays in memory, where peers and the kernel already see it: save it later. */
                log_error("peer=%s: saving a merged change: %s", origin, se.msg);
                need_snapshot(m);
        }
        emit_merged(m, &res);
        if (!was_removed && manager_removed(m))
                log_warning("peer=%s: this host was removed from the cluster", origin);
        if (reissue)
                reissue_own_record(m, origin);
        else if (res.members)
                peers_update_members(m->peers);
        log_debug("peer=%s: merged (%zu route(s)%s)", origin, res.n_routes, res.links ? ", links" : "");
        merge_result_done(&res);
        return 0;
}

/* Tombstones are kept at least this long, and until every member has confirmed holding our state. */
#define TOMB_KEEP_USEC (10ULL * 60 * 1000000)

void manager_collect_tombs(Manager *m)
{
        uint64_t before, at = realtime_usec();

        if (m->config->tombs.n == 0)
                return;
        before = peers_confirmed_before(m->peers);
        if (before == 0 || at < TOMB_KEEP_USEC)
                return;
        before = MIN(before, at - TOMB_KEEP_USEC);
        size_t n = config_collect_tombs(m->config, before);
        if (n > 0) {
                DlrError e = {};
                log_debug("Forgot %zu tombstone(s) every member has", n);
                if (save(m, &e) < 0) {
                        log_warning("%s", e.msg);
                        need_snapshot(m);
                }
        }
}

bool manager_removed(const Manager *m)
{
        return !config_find_member(m->config, m->host_id) &&
                config_find_tomb(m->config, TOMB_MEMBER, "", m->host_id) != NULL;
}

/* This host's own member record: how peers reach it and the key that proves it is this host, mirrored like
 * any member. Only this host writes it; peers may only remove it. A host that was removed stays removed,
 * across its own restarts, until an operator adds it again on a member (see manager_peer_merge). */
static int ensure_self_member(Manager *m, bool force)
{
        IpPrefix v;
        Member *cur = config_find_member(m->config, m->host_id);
        DlrError e = {};

        if (ip_addr_parse(m->vtep, &v) < 0)
                return -EINVAL;
        if (!cur && !force && manager_removed(m)) {
                log_warning("This host was removed from the cluster; it rejoins when a member adds it again");
                return 0;
        }
        if (!force && cur && ip_prefix_compare(&cur->vtep, &v) == 0 && streq(cur->key, hostkey_public(m->hostkey)) &&
                        (!m->peer_address_given || streq(cur->address, m->peer_address)))
                return 0;
        Member *n = member_new(m->host_id, &v, cur && !m->peer_address_given ? cur->address : m->peer_address,
                hostkey_public(m->hostkey));
        if (!n)
                return log_oom();
        n->stamp = next_stamp(m);
        if (cur)
                member_free(config_detach_member(m->config, m->host_id));
        if (config_add_member(m->config, n) < 0) {
                member_free(n);
                return log_oom();
        }
        if (commit(m, &e) < 0)
                return log_error_errno(e.code, "%s", e.msg);
        if (force)
                publish_member(m, n);
        return 0;
}

static int set_endpoint_impl(Manager *m, const char *router, const char *lif, const char *mac, char *const *addresses,
                size_t n_addresses, const char *host, DlrError *e)
{
        const char *why = NULL;
        Endpoint *ep, *cur, *clash;
        Router *r;
        int k, h;

        if (dlr_name_check(router) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid router name");
        r = config_find_router(m->config, router);
        if (!r)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "router %s not found", router);
        k = endpoint_build(r, lif, mac, addresses, n_addresses, &ep, &why);
        if (k < 0)
                return dlr_error_set(e, dlr_error_kind_from_errno(k), k, "dlr=%s lif=%s endpoint %s: %s", router,
                        lif ? lif : "", mac ? mac : "", why ? why : strerror(-k));
        if (!host || dlr_name_check(host) < 0) {
                endpoint_free(ep);
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid host id");
        }
        if (!config_find_member(m->config, host)) {
                endpoint_free(ep);
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "host %s is not a member: AddPeer it first",
                        host);
        }
        clash = router_find_endpoint_address_clash(r, ep);
        if (clash) {
                char other[18];
                mac_format(clash->mac, other);
                endpoint_free(ep);
                return dlr_error_set(e, DLR_ERROR_CONFLICT, -EADDRINUSE,
                        "dlr=%s lif=%s: an address is already endpoint %s's", router, lif, other);
        }
        cur = router_find_endpoint(r, ep->lif, ep->mac);
        if (!cur && router_count_endpoints(r, ep->lif) >= DLR_ENDPOINTS_PER_LIF_MAX) {
                endpoint_free(ep);
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -E2BIG, "dlr=%s lif=%s: at most %u endpoints",
                        router, lif, DLR_ENDPOINTS_PER_LIF_MAX);
        }
        h = config_host_index(m->config, host);
        if (h < 0) {
                endpoint_free(ep);
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        }
        ep->host = (uint32_t) h;
        if (cur && cur->host == ep->host && cur->n_addresses == ep->n_addresses &&
                        memcmp(cur->addresses, ep->addresses, ep->n_addresses * sizeof(IpPrefix)) == 0) {
                endpoint_free(ep);
                return 0; /* already so */
        }
        ep->stamp = next_stamp(m);
        Endpoint *saved = cur ? router_detach_endpoint(r, cur->lif, cur->mac) : NULL;
        k = router_add_endpoint(r, ep);
        if (k < 0) {
                endpoint_free(ep);
                if (saved)
                        (void) router_add_endpoint(r, saved);
                return dlr_error_set(e, DLR_ERROR_INTERNAL, k, "out of memory");
        }
        /* A binding is small: it goes into the journal, not a new snapshot of everything. */
        _cleanup_free_ char *doc = NULL;
        size_t len;
        k = reconcile_neighbours(&m->rc, m->config, e);
        if (k >= 0 && delta_endpoint(m->config, r, ep, &doc, &len) < 0)
                k = dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        if (k >= 0)
                k = commit_record(m, build_merge, &(MergeRecord) { .doc = doc, .len = len }, e);
        if (k < 0) {
                endpoint_free(router_detach_endpoint(r, ep->lif, ep->mac));
                if (saved)
                        (void) router_add_endpoint(r, saved);
                restore_kernel(m);
                return k;
        }
        endpoint_free(saved);
        log_info("dlr=%s lif=%s endpoint=%s host=%s: set", router, lif, mac, host);
        publish(m, doc);
        return 0;
}

static int delete_endpoint_impl(Manager *m, const char *router, const char *lif, const char *mac, DlrError *e)
{
        char key[DLR_NAME_MAX + 20];
        uint8_t hw[6];
        Router *r;
        Lif *l;
        Endpoint *ep;
        int k;

        if (dlr_name_check(router) < 0 || dlr_name_check(lif) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid router or LIF name");
        if (mac_parse(mac, hw) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid MAC address");
        r = config_find_router(m->config, router);
        if (!r)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "router %s not found", router);
        l = router_find_lif(r, lif);
        ep = l ? router_find_endpoint(r, l->id, hw) : NULL;
        if (!ep)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "dlr=%s lif=%s: no endpoint %s", router, lif, mac);
        endpoint_key(lif, hw, key);
        k = put_tomb(m, TOMB_ENDPOINT, router, key, e);
        if (k < 0)
                return k;
        router_detach_endpoint(r, l->id, hw);
        _cleanup_free_ char *doc = NULL;
        size_t len;
        k = reconcile_neighbours(&m->rc, m->config, e);
        if (k >= 0 && delta_tomb(m->config, TOMB_ENDPOINT, router, key, &doc, &len) < 0)
                k = dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        if (k >= 0)
                k = commit_record(m, build_merge, &(MergeRecord) { .doc = doc, .len = len }, e);
        if (k < 0) {
                (void) router_add_endpoint(r, ep);
                (void) config_drop_tomb(m->config, TOMB_ENDPOINT, router, key);
                restore_kernel(m);
                return k;
        }
        endpoint_free(ep);
        log_info("dlr=%s lif=%s endpoint=%s: deleted", router, lif, mac);
        publish(m, doc);
        return 0;
}

int manager_attach_port(Manager *m, const char *router, const char *lif, const char *ifname, DlrError *e)
{
        Router *r;
        const Port *p;
        int k;

        if (dlr_name_check(router) < 0 || dlr_name_check(lif) < 0)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid router or LIF name");
        if (!ifname || strlen(ifname) == 0 || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/') ||
                        strchr(ifname, ' '))
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid interface name");
        /* By name first, so that these are refused even while the link does not exist; the kernel's view of
         * the link (reconcile_check_port) below. */
        if (link_name_is_ours(ifname))
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                        "port=%s: cannot be a VM port: it is one of dlrd's own links", ifname);
        if (m->uplink && streq(ifname, m->uplink))
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL,
                        "port=%s: cannot be a VM port: it is the uplink (--uplink)", ifname);
        r = config_find_router(m->config, router);
        if (!r)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "router %s not found", router);
        if (!router_find_lif(r, lif))
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "dlr=%s: LIF %s not found", router, lif);
        PortState prev = {};
        k = reconcile_check_port(&m->rc, ifname, &prev, e);
        if (k < 0)
                return k;
        p = config_find_port(m->config, ifname);
        if (p && streq(p->router, router) && streq(p->lif, lif))
                return 0;
        if (p)
                return dlr_error_set(e, DLR_ERROR_CONFLICT, -EBUSY, "%s is attached to dlr=%s lif=%s; detach it first",
                        ifname, p->router, p->lif);
        if (config_add_port(m->config, ifname, router, lif) < 0)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        k = reconcile_ports(&m->rc, m->config, e);
        if (k >= 0)
                k = save(m, e);
        if (k < 0) {
                DlrError ignored = {};
                (void) config_remove_port(m->config, ifname);
                /* Back where it was: in the bridge it was in, if any, up or down as it was. */
                if (reconcile_restore_port(&m->rc, ifname, &prev, &ignored) < 0)
                        log_warning("%s", ignored.msg);
                return k;
        }
        log_info("dlr=%s lif=%s port=%s: attached", router, lif, ifname);
        return 0;
}

int manager_detach_port(Manager *m, const char *ifname, DlrError *e)
{
        _cleanup_free_ char *router = NULL, *lif = NULL;
        Port *p;
        int k;

        if (!ifname || strlen(ifname) == 0 || strlen(ifname) >= IFNAMSIZ)
                return dlr_error_set(e, DLR_ERROR_INVALID_ARGUMENT, -EINVAL, "invalid interface name");
        p = config_find_port(m->config, ifname);
        if (!p)
                return dlr_error_set(e, DLR_ERROR_NOT_FOUND, -ENOENT, "%s is not attached", ifname);
        router = strdup(p->router);
        lif = strdup(p->lif);
        if (!router || !lif)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "out of memory");
        (void) config_remove_port(m->config, ifname);
        k = save(m, e);
        if (k < 0) {
                (void) config_add_port(m->config, ifname, router, lif);
                return k;
        }
        DlrError de = {};
        k = reconcile_detach_port(&m->rc, ifname, &de);
        if (k < 0 && k != -ENODEV)
                log_warning("%s", de.msg);
        log_info("dlr=%s lif=%s port=%s: detached", router, lif, ifname);
        return 0;
}

/* A refused change leaves the Lamport clock where it was too: stamps are taken before the kernel is asked, and
 * a number nobody saw may be used again. (The clock is read before the call: argument order is unspecified.) */
int keep_clock(Manager *m, uint64_t lamport, int k)
{
        if (k < 0)
                m->config->lamport = lamport;
        return k;
}

int manager_create_router(Manager *m, const char *name, uint32_t table, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, create_router_impl(m, name, table, e));
}

int manager_delete_router(Manager *m, const char *name, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, delete_router_impl(m, name, e));
}

int manager_create_lif(Manager *m, const char *router, const char *name, const char *kind, uint32_t segment,
                char *const *addresses, size_t n_addresses, uint32_t mtu, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, create_lif_impl(m, router, name, kind, segment, addresses, n_addresses, mtu, e));
}

int manager_delete_lif(Manager *m, const char *router, const char *name, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, delete_lif_impl(m, router, name, e));
}

int manager_add_routes(Manager *m, const char *router, const RouteSpec *specs, size_t n, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, add_routes_impl(m, router, specs, n, e));
}

int manager_delete_route(Manager *m, const char *router, const char *prefix, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, delete_route_impl(m, router, prefix, e));
}

int manager_apply(Manager *m, const char *json, uint64_t *ret_generation, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, apply_impl(m, json, ret_generation, e));
}

int manager_add_peer(Manager *m, const char *host, const char *vtep, const char *address, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, add_peer_impl(m, host, vtep, address, NULL, e));
}

int manager_add_peer_with_key(Manager *m, const char *host, const char *vtep, const char *address, const char *key,
                DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, add_peer_impl(m, host, vtep, address, key, e));
}

int manager_pin_key(Manager *m, const char *host, const char *key)
{
        Member *cur = config_find_member(m->config, host);
        DlrError e = {};
        uint64_t lamport = m->config->lamport;

        if (!cur || cur->key[0] || member_key_check(key) < 0)
                return -EINVAL;
        char vtep[IP_PREFIX_MAX_STR];
        _cleanup_free_ char *address = strdup(cur->address);
        if (!address)
                return -ENOMEM;
        ip_prefix_to_string(&cur->vtep, false, vtep, sizeof vtep);
        int k = keep_clock(m, lamport, add_peer_impl(m, host, vtep, address, key, &e));
        if (k >= 0)
                log_info("peer=%s: key %s pinned at first contact", host, key);
        if (k < 0)
                log_warning("peer=%s: pinning its key: %s", host, e.msg);
        return k;
}

int manager_remove_peer(Manager *m, const char *host, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, remove_peer_impl(m, host, e));
}

int manager_set_endpoint(Manager *m, const char *router, const char *lif, const char *mac, char *const *addresses,
                size_t n_addresses, const char *host, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, set_endpoint_impl(m, router, lif, mac, addresses, n_addresses, host, e));
}

int manager_delete_endpoint(Manager *m, const char *router, const char *lif, const char *mac, DlrError *e)
{
        uint64_t lamport = m->config->lamport;
        return keep_clock(m, lamport, delete_endpoint_impl(m, router, lif, mac, e));
}

int manager_export(Manager *m, bool redacted, char **ret)
{
        if (redacted)
                return config_to_json_redacted(m->config, ret, NULL);
        return config_to_json(m->config, true, ret, NULL);
}

const char *manager_digest(Manager *m)
{
        if (!m->digest_valid || m->digest_generation != m->config->generation) {
                if (config_digest(m->config, m->digest) < 0)
                        return "";
                m->digest_valid = true;
                m->digest_generation = m->config->generation;
        }
        return m->digest;
}

/* Learning from local ports: a VM's ARP or neighbour solicitation towards its gateway leaves a neighbour
 * entry on the LIF bridge, and its frames leave a learned forwarding entry on its port. A MAC on an
 * attached port of this host with an address in the LIF's subnet becomes (or stays) a binding of this host,
 * stamped now, so it overrides an older one pushed from elsewhere: that is how a VM that moved is claimed. */

/* The LIF a bridge of dlrd's belongs to, from the bridge's name. */
static Lif *lif_of_bridge(Manager *m, int ifindex, Router **ret_router)
{
        char name[IF_NAMESIZE];
        unsigned long seg;
        char *end;

        if (!if_indextoname((unsigned) ifindex, name))
                return NULL;
        bool vx = strncmp(name, "dlbr", 4) == 0, vl = strncmp(name, "dlbv", 4) == 0;
        if (!vx && !vl)
                return NULL;
        seg = strtoul(name + 4, &end, 10);
        if (*end || end == name + 4)
                return NULL;
        return config_find_segment(m->config, vx ? LIF_KIND_VXLAN : LIF_KIND_VLAN, (uint32_t) seg, ret_router);
}

/* The attached port a MAC was learned on in this LIF's bridge, or NULL. */
static const Port *port_of_mac(Manager *m, int bridge, const Router *r, const Lif *l, const uint8_t mac[6])
{
        KNeighs fdb = {};
        const Port *found = NULL;

        if (kernel_dump_neighs(m->rc.nl, AF_BRIDGE, &fdb) < 0)
                return NULL;
        for (size_t i = 0; i < fdb.n && !found; i++) {
                const KNeigh *k = &fdb.v[i];
                char name[IF_NAMESIZE];
                if (!k->has_mac || memcmp(k->mac, mac, 6) != 0 || k->master != bridge ||
                                (k->state & (NUD_PERMANENT | NUD_NOARP)) || !if_indextoname((unsigned) k->ifindex, name))
                        continue;
                const Port *p = config_find_port(m->config, name);
                if (p && streq(p->router, r->name) && streq(p->lif, l->name))
                        found = p;
        }
        kneighs_done(&fdb);
        return found;
}

static void learn(Manager *m, Router *r, Lif *l, const uint8_t mac[6], const IpPrefix *ip, const char *port)
{
        char macs[18], addrs[DLR_ENDPOINT_ADDRESSES_MAX][IP_PREFIX_MAX_STR];
        char *av[DLR_ENDPOINT_ADDRESSES_MAX];
        const char *self = m->host_id;
        size_t n = 0;
        DlrError e = {};

        mac_format(mac, macs);
        Endpoint *cur = router_find_endpoint(r, l->id, mac);
        bool mine = cur && cur->host < m->config->n_hosts && streq(m->config->hosts[cur->host], self);
        if (cur && mine) {
                if (!ip)
                        return;
                for (size_t i = 0; i < cur->n_addresses; i++)
                        if (ip_prefix_compare(&cur->addresses[i], ip) == 0)
                                return; /* known already */
        }
        if (!cur && !ip)
                return; /* a MAC without an address says nothing yet */
        for (size_t i = 0; cur && i < cur->n_addresses && i < DLR_ENDPOINT_ADDRESSES_MAX; i++) {
                ip_prefix_to_string(&cur->addresses[i], false, addrs[i], sizeof addrs[i]);
                n++;
        }
        /* Past here the traffic asks for a change: journal record, push to every peer. */
        uint64_t at = now(CLOCK_MONOTONIC);
        if (!learn_limit_take(&m->learn, r->name, l->name, port, at)) {
                log_warning("dlr=%s lif=%s port=%s: learning rate limited, dropping what endpoint %s says",
                        r->name, l->name, port, macs);
                return;
        }
        if (ip) {
                if (n == DLR_ENDPOINT_ADDRESSES_MAX) {
                        log_warning("dlr=%s lif=%s endpoint=%s: already %u addresses, not learning another", r->name,
                                l->name, macs, DLR_ENDPOINT_ADDRESSES_MAX);
                        return;
                }
                ip_prefix_to_string(ip, false, addrs[n], sizeof addrs[n]);
                n++;
                /* The address now answers from this MAC: an older binding claiming it gives way. */
                Endpoint probe = { .lif = l->id, .n_addresses = 1, .addresses = (IpPrefix *) ip };
                memcpy(probe.mac, mac, 6);
                Endpoint *other = router_find_endpoint_address_clash(r, &probe);
                if (other) {
                        char om[18];
                        mac_format(other->mac, om);
                        if (!learn_limit_move(&m->learn, r->name, l->name, addrs[n - 1], at)) {
                                log_warning("dlr=%s lif=%s: %s flaps between endpoints %s and %s: it stays with %s "
                                        "for now", r->name, l->name, addrs[n - 1], om, macs, om);
                                return;
                        }
                        log_info("dlr=%s lif=%s: %s moves from endpoint %s to %s", r->name, l->name, addrs[n - 1], om, macs);
                        if (manager_delete_endpoint(m, r->name, l->name, om, &e) < 0) {
                                log_warning("dlr=%s lif=%s endpoint=%s: %s", r->name, l->name, om, e.msg);
                                return;
                        }
                }
        }
        for (size_t i = 0; i < n; i++)
                av[i] = addrs[i];
        if (manager_set_endpoint(m, r->name, l->name, macs, av, n, self, &e) < 0) {
                log_debug("dlr=%s lif=%s endpoint=%s: not learned: %s", r->name, l->name, macs, e.msg);
                return;
        }
        log_info("dlr=%s lif=%s endpoint=%s%s%s: learned on port %s", r->name, l->name, macs, ip ? " ip=" : "",
                ip ? addrs[n - 1] : "", port);
}

/* A learned (not dlrd's) neighbour entry on a LIF bridge. */
static void learn_from_neigh(Manager *m, const KNeigh *k)
{
        Router *r = NULL;
        Lif *l;

        if (!k->has_mac || k->dst.family == 0 || (k->state & (NUD_PERMANENT | NUD_NOARP | NUD_FAILED | NUD_INCOMPLETE)))
                return;
        l = lif_of_bridge(m, k->ifindex, &r);
        if (!l || !r)
                return;
        IpPrefix ip = k->dst;
        if (ip_addr_check_unicast(&ip) < 0)
                return; /* link-local IPv6 and the like are no binding */
        const Port *p = port_of_mac(m, k->ifindex, r, l, k->mac);
        if (!p)
                return; /* not behind one of this host's attached ports */
        learn(m, r, l, k->mac, &ip, p->ifname);
}

/* A learned forwarding entry on an attached port: a VM that is (now) here. */
static void learn_from_fdb(Manager *m, const KNeigh *k)
{
        char name[IF_NAMESIZE];
        const Port *p;
        Router *r;
        Lif *l;

        if (!k->has_mac || k->master == 0 || (k->state & NUD_PERMANENT) || (k->mac[0] & 1) ||
                        !if_indextoname((unsigned) k->ifindex, name))
                return;
        p = config_find_port(m->config, name);
        r = p ? config_find_router(m->config, p->router) : NULL;
        l = r ? router_find_lif(r, p->lif) : NULL;
        if (!l)
                return;
        Endpoint *cur = router_find_endpoint(r, l->id, k->mac);
        if (!cur || (cur->host < m->config->n_hosts && streq(m->config->hosts[cur->host], m->host_id)))
                return; /* unknown (its address will tell) or already this host's */
        learn(m, r, l, k->mac, NULL, name);
}

/* Drift: notifications tell which kind of pass is due; the pass itself decides what to fix. */
static int on_monitor(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        static char buf[8192];
        bool links = false, routes = false;
        KNeigh learned[64]; /* handled after reading: learning makes changes of its own */
        size_t n_learn = 0;

        for (;;) {
                ssize_t n = mnl_socket_recvfrom(m->monitor, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                log_notice("Netlink notifications were lost; resynchronising everything");
                                links = routes = true;
                                continue;
                        }
                        log_warning_errno(-errno, "Reading netlink notifications: %m");
                        break;
                }
                const struct nlmsghdr *h = (const struct nlmsghdr *) buf;
                int len = (int) n;
                for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
                        switch (h->nlmsg_type) {
                        case RTM_NEWLINK:
                        case RTM_DELLINK: {
                                const struct nlattr *a;
                                mnl_attr_for_each(a, h, sizeof(struct ifinfomsg))
                                        if (mnl_attr_get_type(a) == IFLA_IFNAME &&
                                                        link_name_is_ours(mnl_attr_get_str(a))) {
                                                /* A link going down silently drops its IPv4 routes. */
                                                links = routes = true;
                                        }
                                break;
                        }
                        case RTM_NEWADDR:
                                links = true; /* the pass looks only at dlrd's bridges */
                                break;
                        case RTM_DELADDR:
                                /* Losing an address silently flushes the IPv4 routes through its subnet. */
                                links = routes = true;
                                break;
                        case RTM_NEWNEIGH:
                        case RTM_DELNEIGH: {
                                /* Only entries of the kinds dlrd makes; learned ones come and go with traffic. */
                                const struct ndmsg *ndm = mnl_nlmsg_get_payload(h);
                                KNeigh k;
                                bool ours = ndm->ndm_state & (NUD_PERMANENT | NUD_NOARP);
                                if (ours)
                                        m->resync_neigh = true;
                                /* A static entry of dlrd's that the bridge moved onto a VM port is news too:
                                 * the VM it names has just spoken from here. */
                                if ((!ours || (ndm->ndm_family == AF_BRIDGE && !(ndm->ndm_flags & NTF_SELF))) &&
                                                h->nlmsg_type == RTM_NEWNEIGH && m->config->n_ports > 0 &&
                                                n_learn < ELEMENTSOF(learned) && kernel_parse_neigh(h, &k) >= 0)
                                        learned[n_learn++] = k;
                                break;
                        }
                        case RTM_NEWROUTE: /* someone else's: ours are filtered out in the kernel */
                        case RTM_DELROUTE: {
                                const struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
                                if (rtm->rtm_protocol == DLRD_RTPROT)
                                        routes = true;
                                break;
                        }
                        }
                }
        }
        for (size_t i = 0; i < n_learn; i++) {
                if (learned[i].family == AF_BRIDGE)
                        learn_from_fdb(m, &learned[i]);
                else
                        learn_from_neigh(m, &learned[i]);
        }
        if (links || routes || m->resync_neigh)
                schedule_resync(m, links, routes);
        return 0;
}

static int on_resync(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        DlrError e = {};
        bool links = m->resync_links, routes = m->resync_routes, neigh = m->resync_neigh, changed = false;
        bool firewall = m->resync_firewall;
        int r;

        m->resync_links = m->resync_routes = m->resync_neigh = m->resync_firewall = false;
        r = links ? reconcile_links(&m->rc, m->config, &changed, &e) : 0;
        if (r >= 0 && links)
                r = reconcile_ports(&m->rc, m->config, &e);
        if (r >= 0 && (routes || changed))
                r = reconcile_routes(&m->rc, m->config, &e);
        if (r >= 0 && (links || neigh))
                r = reconcile_neighbours(&m->rc, m->config, &e);
        if (r >= 0 && (links || firewall))
                r = nft_sync(m->rc.nft, m->config, m->host_id, &e);
        if (r < 0) {
                log_warning("Repairing kernel state failed, retrying in 1s: %s", e.msg);
                m->resync_firewall = firewall;
                m->resync_links = links;
                m->resync_routes = routes || changed;
                m->resync_neigh = neigh;
                sd_event_source_set_time_relative(s, 1000000);
                sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

static int schedule_resync(Manager *m, bool links, bool routes)
{
        m->resync_links |= links;
        m->resync_routes |= routes;
        if (sd_event_source_get_enabled(m->resync_source, NULL) > 0)
                return 0; /* already due: bursts coalesce */
        sd_event_source_set_time_relative(m->resync_source, RESYNC_DELAY_USEC);
        return sd_event_source_set_enabled(m->resync_source, SD_EVENT_ONESHOT);
}

/* nf_tables changed: when someone else touched dlrd's tables, they are rebuilt at the next resync. */
static int on_nft_monitor(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        int r = nft_monitor_process(m->rc.nft);
        if (r < 0)
                log_warning("Reading nf_tables notifications: %s", strerror(-r));
        if (r != 0) {
                if (!m->resync_firewall)
                        log_warning("nftables: dlrd's tables were changed by someone else; restoring them");
                m->resync_firewall = true;
                schedule_resync(m, false, false);
        }
        return 0;
}

/* After every dispatch: a kernel change whose outcome is partly unknown (a netlink socket error, lost
 * answers, a rollback that failed) leaves the kernel unlike what dlrd believes; the full resync that fixes it
 * is scheduled here, whichever path made the change. */
static int on_post(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;
        bool links = netlink_take_uncertain(m->rc.nl), firewall = nft_take_uncertain(m->rc.nft);

        if (links || firewall) {
                log_warning("The outcome of a kernel change is not known for sure: resyncing%s%s",
                        links ? " links and routes" : "", firewall ? (links ? " and nftables" : " nftables") : "");
                m->resync_firewall |= firewall;
                m->resync_neigh |= links;
                schedule_resync(m, links, links);
        }
        return 0;
}

static int on_periodic(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        schedule_resync(m, true, true);
        sd_event_source_set_time_relative(s, PERIODIC_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int manager_start(Manager *m)
{
        static const unsigned groups[] = { RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_NEIGH };
        DlrError e = {};
        int r;

        /* Subscribe before the first pass, so nothing that happens during it goes unnoticed. */
        r = netlink_monitor_open(groups, ELEMENTSOF(groups), netlink_portid(m->rc.nl), &m->monitor);
        if (r < 0)
                return log_error_errno(r, "Opening netlink notification socket: %m");
        r = sd_event_add_io(m->event, &m->monitor_source, mnl_socket_get_fd(m->monitor), EPOLLIN, on_monitor, m);
        if (r >= 0)
                r = sd_event_add_io(m->event, &m->nft_source, nft_monitor_fd(m->rc.nft), EPOLLIN, on_nft_monitor, m);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &m->resync_source, CLOCK_MONOTONIC, RESYNC_DELAY_USEC, 0,
                        on_resync, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->resync_source, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &m->periodic_source, CLOCK_MONOTONIC, PERIODIC_USEC, 0,
                        on_periodic, m);
        if (r >= 0)
                r = sd_event_add_post(m->event, &m->post_source, on_post, m);
        if (r < 0)
                return log_error_errno(r, "Setting up event sources: %m");

        r = bus_open(m);
        if (r < 0)
                return r;

        r = reconcile_all(&m->rc, m->config, &e);
        if (r < 0)
                /* Keep going: drift repair retries, and the operator can see and fix the configuration. */
                log_error("Initial reconcile incomplete: %s", e.msg);
        else
                log_info("Kernel reconciled: %zu router(s)", m->config->n_routers);

        r = ensure_self_member(m, false);
        if (r < 0)
                return r;
        r = peers_start(m, m->peer_allow, m->n_peer_allow);
        if (r < 0)
                return r;

        r = bus_request_name(m);
        if (r < 0)
                return r;
        m->ready = true;
        (void) sd_notify(false, "READY=1\nSTATUS=Serving org.dlrd1");
        return 0;
}
