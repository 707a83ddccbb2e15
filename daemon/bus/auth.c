/* Authorisation of the changing methods: root as the bus vouches for it, or polkit, asked asynchronously with
 * the method call dispatched again once it has answered (the way systemd's bus_verify_polkit_async works). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bus/auth.h"
#include "shared/cleanup.h"
#include "shared/log.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_ALLOW_USER_INTERACTION 1U
/* An interactive check waits for a person to type a password. */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (300ULL * 1000000ULL)

/* A method call waiting for polkit, and how to dispatch it again. */
typedef struct Waiter {
        sd_bus_message *msg;
        sd_bus_message_handler_t handler;
        void *userdata;
} Waiter;

/* One question to polkit per (bus, sender, action): calls of the same sender that arrive while it is open
 * wait for the same answer. The answer is kept only while those calls are dispatched again, not beyond:
 * polkit's own "keep" (auth_admin_keep) decides how long an authentication lasts, and a refusal is asked
 * again next time, after the user may have authenticated. */
typedef struct AuthQuery {
        struct AuthQuery *next;
        sd_bus *bus;
        char *sender;
        char *action;
        sd_bus_slot *slot; /* the CheckAuthorization call, while open */
        Waiter *waiters;
        size_t n_waiters;
        bool done;
        int result;        /* when done: 1, or a negative errno with error set */
        sd_bus_error error;
} AuthQuery;

/* bus_check_privileged() is called from method handlers with nothing but the message; the queries of the
 * process's one bus connection live here. */
static AuthQuery *queries;

static AuthQuery *query_free(AuthQuery *q)
{
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        for (size_t i = 0; i < q->n_waiters; i++)
                sd_bus_message_unref(q->waiters[i].msg);
        free(q->waiters);
        sd_bus_error_free(&q->error);
        free(q->sender);
        free(q->action);
        free(q);
        return NULL;
}

static void query_unlink(AuthQuery *q)
{
        for (AuthQuery **p = &queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        return;
                }
}

static AuthQuery *query_find(const sd_bus *bus, const char *sender, const char *action)
{
        for (AuthQuery *q = queries; q; q = q->next)
                if (q->bus == bus && streq(q->sender, sender) && streq(q->action, action))
                        return q;
        return NULL;
}

static int query_add_waiter(AuthQuery *q, sd_bus_message *msg)
{
        sd_bus *bus = sd_bus_message_get_bus(msg);
        Waiter *w = realloc(q->waiters, (q->n_waiters + 1) * sizeof(Waiter));

        if (!w)
                return -ENOMEM;
        q->waiters = w;
        q->waiters[q->n_waiters++] = (Waiter) {
                .msg = sd_bus_message_ref(msg),
                .handler = sd_bus_get_current_handler(bus),
                .userdata = sd_bus_get_current_userdata(bus),
        };
        return 0;
}

int bus_sender_is_root(sd_bus_message *msg)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t euid;
        int r;

        /* SD_BUS_CREDS_EUID alone, without SD_BUS_CREDS_AUGMENT: what dbus-daemon answers to
         * GetConnectionCredentials (UnixUserID, from SO_PEERCRED when the caller connected), never what /proc
         * shows of the process now. That may have exec'd, changed uid or entered a user namespace of its own
         * since, where it holds every capability. */
        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &euid);
        if (r < 0)
                return r;
        return euid == 0;
}

/* Turns polkit's answer (or its absence) into the query's result. */
static void query_set_result(AuthQuery *q, sd_bus_message *reply)
{
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = 0, challenge = 0, r;

        if (e) {
                /* The call may start polkit (it is bus-activated), so an owner that is merely not running yet
                 * is not "absent": only a name the bus cannot activate at all means polkit is not installed.
                 * Any other failure (it could not be started, it did not answer) refuses too, and is worth a
                 * line in the log. */
                if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN))
                        q->result = sd_bus_error_set(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                "changing dlrd's configuration needs root, or polkit's " DLRD_POLKIT_ACTION_MANAGE
                                " (polkit is not installed)");
                else {
                        log_warning("Asking polkit about %s for %s: %s", q->action, q->sender,
                                e->message ? e->message : e->name);
                        q->result = sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                "polkit could not decide about %s: %s", q->action, e->message ? e->message : e->name);
                }
                return;
        }
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                log_warning_errno(r, "polkit's answer about %s for %s does not parse: %m", q->action, q->sender);
                q->result = sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                        "polkit's answer about %s does not parse", q->action);
                return;
        }
        if (authorized)
                q->result = 1;
        else if (challenge)
                q->result = sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                        "%s needs authentication: call with interactive authorization allowed, "
                        "with a polkit agent running", q->action);
        else
                q->result = sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED, "polkit does not allow %s",
                        q->action);
}

/* Dispatches one waiting call again, and answers it if its handler failed without answering, as sd-bus
 * would have. */
static void redispatch(const Waiter *w)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_rewind(w->msg, true);
        if (r >= 0)
                r = w->handler(w->msg, w->userdata, &error);
        if (r >= 0)
                return;
        if (sd_bus_error_is_set(&error))
                (void) sd_bus_reply_method_error(w->msg, &error);
        else
                (void) sd_bus_reply_method_errno(w->msg, r, NULL);
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        AuthQuery *q = userdata;

        q->slot = sd_bus_slot_unref(q->slot);
        query_set_result(q, reply);
        q->done = true;
        /* Each handler finds this query done and goes on or refuses; the query goes once all were answered. */
        for (size_t i = 0; i < q->n_waiters; i++)
                redispatch(&q->waiters[i]);
        query_unlink(q);
        query_free(q);
        return 0;
}

static int query_start(AuthQuery *q, sd_bus_message *msg)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        bool interactive = sd_bus_message_get_allow_interactive_authorization(msg) > 0;
        int r;

        r = sd_bus_message_new_method_call(q->bus, &call, POLKIT_NAME, POLKIT_PATH, POLKIT_INTERFACE,
                "CheckAuthorization");
        /* sd-bus's default, said out loud: polkitd is started on demand, and this call is what starts it. */
        if (r >= 0)
                r = sd_bus_message_set_auto_start(call, true);
        if (r >= 0)
                /* subject (system-bus-name: the caller's unique name), action, details, flags, cancellation id */
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", q->sender,
                        q->action, 0, interactive ? POLKIT_ALLOW_USER_INTERACTION : 0U, "");
        if (r >= 0)
                r = sd_bus_call_async(q->bus, &q->slot, call, on_polkit_reply, q,
                        interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : 0);
        return r;
}

int bus_check_privileged(sd_bus_message *msg, sd_bus_error *error)
{
        sd_bus *bus = sd_bus_message_get_bus(msg);
        const char *sender = sd_bus_message_get_sender(msg);
        const char *action = DLRD_POLKIT_ACTION_MANAGE;
        AuthQuery *q;
        int r;

        if (sender) {
                q = query_find(bus, sender, action);
                if (q && q->done) {
                        /* Dispatched again by on_polkit_reply(): here is the answer. */
                        if (q->result >= 0)
                                return 1;
                        return sd_bus_error_set(error, q->error.name, q->error.message);
                }
                if (q) {
                        /* Another call of the same sender while polkit thinks: it waits for the same answer. */
                        r = query_add_waiter(q, msg);
                        return r < 0 ? r : 0;
                }
        }

        r = bus_sender_is_root(msg);
        if (r > 0)
                return 1;
        if (r < 0)
                /* Whoever the bus cannot name (it has disconnected, say) is not root. */
                log_debug_errno(r, "Credentials of %s: %m", sender ? sender : "the peer");
        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                        "changing dlrd's configuration needs root, or polkit's " DLRD_POLKIT_ACTION_MANAGE);

        q = calloc(1, sizeof(AuthQuery));
        if (!q)
                return -ENOMEM;
        q->bus = bus;
        q->error = SD_BUS_ERROR_NULL;
        q->sender = strdup(sender);
        q->action = strdup(action);
        r = q->sender && q->action ? query_add_waiter(q, msg) : -ENOMEM;
        if (r >= 0)
                r = query_start(q, msg);
        if (r < 0) {
                query_free(q);
                return sd_bus_error_set_errnof(error, r, "cannot ask polkit about %s: %m", action);
        }
        q->next = queries;
        queries = q;
        return 0;
}

void bus_auth_flush(void)
{
        while (queries) {
                AuthQuery *q = queries;
                queries = q->next;
                query_free(q);
        }
}
