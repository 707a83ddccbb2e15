/* fake-polkit: a stand-in for polkitd on a test bus, for tests/integration/service.test and auth.test. It owns
 * org.freedesktop.PolicyKit1 and answers org.freedesktop.PolicyKit1.Authority.CheckAuthorization with one
 * fixed verdict, optionally after a delay (without blocking: other calls are answered meanwhile). Each
 * question and each answer is one line on stdout, so a test can see whom dlrd asked about what and when:
 *
 *   ready
 *   check action=org.dlrd1.manage subject=system-bus-name:1.7 uid=65534 flags=0
 *   answer authorized=1 challenge=0 subject=system-bus-name:1.7
 *
 * usage: fake-polkit [--bus ADDRESS] (--allow | --deny | --challenge) [--delay SECONDS]
 * Without --bus it serves the bus that activated it (DBUS_STARTER_ADDRESS), as polkitd is started on demand;
 * it ends when its bus does. Not installed. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

typedef enum Verdict { VERDICT_ALLOW, VERDICT_DENY, VERDICT_CHALLENGE } Verdict;

static Verdict verdict = VERDICT_DENY;
static uint64_t delay_usec;

typedef struct Pending {
        sd_bus_message *call;
        char subject[256];
} Pending;

static int answer(Pending *p)
{
        int authorized = verdict == VERDICT_ALLOW, challenge = verdict == VERDICT_CHALLENGE;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(p->call, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "(bba{ss})", authorized, challenge, 0);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        printf("answer authorized=%d challenge=%d subject=%s\n", authorized, challenge, p->subject);
        sd_bus_message_unref(p->call);
        free(p);
        return r;
}

static int on_delay(sd_event_source *s, uint64_t usec, void *userdata)
{
        int r = answer(userdata);
        sd_event_source_unref(s);
        return r;
}

/* CheckAuthorization(subject (sa{sv}), action_id s, details a{ss}, flags u, cancellation_id s) -> (bba{ss}) */
static int method_check(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *kind, *key, *name = "?", *action, *cancel;
        sd_bus_creds *creds = NULL;
        uint32_t flags;
        uid_t uid = (uid_t) -1;
        Pending *p;
        int r;

        r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &kind);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "name") == 0)
                        r = sd_bus_message_read(m, "v", "s", &name);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &action);
        if (r >= 0)
                r = sd_bus_message_skip(m, "a{ss}");
        if (r >= 0)
                r = sd_bus_message_read(m, "us", &flags, &cancel);
        if (r < 0)
                return r;
        /* Whose connection the subject is, as the bus knows it: the test checks that dlrd asked about its caller. */
        if (strcmp(kind, "system-bus-name") == 0 && name[0] == ':' &&
                        sd_bus_get_name_creds(sd_bus_message_get_bus(m), name, SD_BUS_CREDS_EUID, &creds) >= 0)
                (void) sd_bus_creds_get_euid(creds, &uid);
        sd_bus_creds_unref(creds);
        printf("check action=%s subject=%s%s uid=%d flags=%u\n", action, kind, name, (int) uid, flags);

        p = calloc(1, sizeof(Pending));
        if (!p)
                return -ENOMEM;
        p->call = sd_bus_message_ref(m);
        snprintf(p->subject, sizeof p->subject, "%s%s", kind, name);
        if (delay_usec == 0)
                return answer(p) < 0 ? -EIO : 1;
        r = sd_event_add_time_relative(sd_bus_get_event(sd_bus_message_get_bus(m)), NULL, CLOCK_MONOTONIC, delay_usec,
                0, on_delay, p);
        if (r < 0) {
                sd_bus_message_unref(p->call);
                free(p);
                return r;
        }
        return 1;
}

static const sd_bus_vtable authority_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int main(int argc, char *argv[])
{
        static const struct option options[] = {
                { "bus", required_argument, NULL, 'b' },
                { "allow", no_argument, NULL, 'a' },
                { "deny", no_argument, NULL, 'd' },
                { "challenge", no_argument, NULL, 'c' },
                { "delay", required_argument, NULL, 'D' },
                {},
        };
        const char *address = NULL;
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        sigset_t mask;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'b': address = optarg; break;
                case 'a': verdict = VERDICT_ALLOW; break;
                case 'd': verdict = VERDICT_DENY; break;
                case 'c': verdict = VERDICT_CHALLENGE; break;
                case 'D': delay_usec = (uint64_t) (strtod(optarg, NULL) * 1e6); break;
                default: return 2;
                }
        if (!address)
                address = getenv("DBUS_STARTER_ADDRESS");
        if (!address || optind < argc) {
                fprintf(stderr, "usage: fake-polkit [--bus ADDRESS] (--allow | --deny | --challenge) [--delay SECONDS]\n");
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/PolicyKit1/Authority",
                        "org.freedesktop.PolicyKit1.Authority", authority_vtable, NULL);
        if (r >= 0)
                r = sd_bus_request_name(bus, "org.freedesktop.PolicyKit1", 0);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        if (r < 0) {
                fprintf(stderr, "fake-polkit: %s\n", strerror(-r));
                return 1;
        }
        printf("ready\n");
        r = sd_event_loop(event);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        return r < 0 ? 1 : 0;
}
