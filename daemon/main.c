/* dlrd: command line, signals and the event loop. Wiring only. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <systemd/sd-daemon.h>

#include "bus/auth.h"
#include "manager.h"
#include "shared/cleanup.h"
#include "shared/log.h"
#include "watchdog.h"

static void help(void)
{
        printf("Usage: dlrd --host-id ID --vtep ADDR [OPTIONS]\n\n"
               "Distributed logical router daemon.\n\n"
               "  --host-id ID         this host's id in the cluster\n"
               "  --vtep ADDR          this host's VXLAN tunnel endpoint address\n"
               "  --bus ADDRESS        D-Bus address to serve on (default: the system bus)\n"
               "  --peer-socket PATH   peer socket (default: /run/dlrd/peer.sock)\n"
               "  --peer-address ADDR  D-Bus address peers use to reach this host's peer socket\n"
               "                       (default: unix:path=PEER-SOCKET; ssh:[USER@]HOST[:PORT] across machines)\n"
               "  --peer-ssh-config FILE\n"
               "                       ssh configuration for ssh: peers (default: /etc/dlrd/ssh_config if it\n"
               "                       exists, else none)\n"
               "  --peer-allow-uid UID also accept peer connections from this uid (root and dlrd's own always)\n"
               "  --peer-rate N        calls per second one peer connection may make, bursts of 2N (default 2000)\n"
               "  --state-dir DIR      saved configuration (default: /var/lib/dlrd)\n"
               "  --uplink IFNAME      parent interface of VLAN LIFs\n"
               "  --debug              log debug messages\n"
               "  -h --help            show this help\n"
               "  --version            show the version\n");
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;
        log_info("Received %s, exiting.", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

int main(int argc, char *argv[])
{
        enum { ARG_HOST_ID = 0x100, ARG_VTEP, ARG_BUS, ARG_PEER_SOCKET, ARG_STATE_DIR, ARG_UPLINK, ARG_PEER_ADDRESS,
                ARG_PEER_ALLOW_UID, ARG_PEER_RATE, ARG_PEER_SSH_CONFIG,
                ARG_DEBUG, ARG_VERSION };
        static const struct option options[] = {
                { "host-id", required_argument, NULL, ARG_HOST_ID },
                { "vtep", required_argument, NULL, ARG_VTEP },
                { "bus", required_argument, NULL, ARG_BUS },
                { "peer-socket", required_argument, NULL, ARG_PEER_SOCKET },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "uplink", required_argument, NULL, ARG_UPLINK },
                { "peer-address", required_argument, NULL, ARG_PEER_ADDRESS },
                { "peer-allow-uid", required_argument, NULL, ARG_PEER_ALLOW_UID },
                { "peer-rate", required_argument, NULL, ARG_PEER_RATE },
                { "peer-ssh-config", required_argument, NULL, ARG_PEER_SSH_CONFIG },
                { "debug", no_argument, NULL, ARG_DEBUG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        ManagerOptions o = {};
        sd_event_source *watchdog = NULL;
        uid_t allow[64];
        size_t n_allow = 0;
        Manager *m = NULL;
        sigset_t mask;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_HOST_ID: o.host_id = optarg; break;
                case ARG_VTEP: o.vtep = optarg; break;
                case ARG_BUS: o.bus_address = optarg; break;
                case ARG_PEER_SOCKET: o.peer_socket = optarg; break;
                case ARG_STATE_DIR: o.state_dir = optarg; break;
                case ARG_UPLINK: o.uplink = optarg; break;
                case ARG_PEER_ADDRESS: o.peer_address = optarg; break;
                case ARG_PEER_SSH_CONFIG: o.peer_ssh_config = optarg; break;
                case ARG_PEER_RATE: {
                        char *end;
                        unsigned long v;
                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || v == 0 || v > 1000000) {
                                fprintf(stderr, "dlrd: --peer-rate: expected calls per second, 1-1000000\n");
                                return EXIT_FAILURE;
                        }
                        o.peer_rate = (unsigned) v;
                        break;
                }
                case ARG_PEER_ALLOW_UID: {
                        char *end;
                        unsigned long u;
                        errno = 0;
                        u = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || u >= (uid_t) -1 || n_allow >= ELEMENTSOF(allow)) {
                                fprintf(stderr, "dlrd: --peer-allow-uid: expected a numeric uid (at most %zu)\n",
                                        ELEMENTSOF(allow));
                                return EXIT_FAILURE;
                        }
                        allow[n_allow++] = (uid_t) u;
                        break;
                }
                case ARG_DEBUG: log_set_max_level(LOG_DEBUG); break;
                case 'h': help(); return EXIT_SUCCESS;
                case ARG_VERSION: printf("dlrd %s\n", PACKAGE_VERSION); return EXIT_SUCCESS;
                default: return EXIT_FAILURE;
                }
        o.peer_allow = allow;
        o.n_peer_allow = n_allow;
        if (optind < argc || !o.host_id || !o.vtep) {
                fprintf(stderr, "dlrd: --host-id and --vtep are required (see --help)\n");
                return EXIT_FAILURE;
        }

        /* What dlrd runs (ssh, for ssh: peers) gets none of its capabilities: under dlrd.service CAP_NET_ADMIN
         * is ambient, and an ambient capability would pass through exec. dlrd's own sets stay as they are. */
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = manager_new(&o, &m);
        if (r < 0)
                return EXIT_FAILURE;
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r < 0) {
                log_error_errno(r, "Installing signal handlers: %m");
                goto finish;
        }
        r = watchdog_setup(m->event, &watchdog);
        if (r < 0)
                goto finish;
        r = manager_start(m);
        if (r < 0)
                goto finish;
        log_info("dlrd %s running: host=%s vtep=%s", PACKAGE_VERSION, m->host_id, m->vtep);
        r = sd_event_loop(m->event);
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");
finish:
        sd_event_source_disable_unref(watchdog);
        /* Calls still waiting for polkit get no answer; their callers see the connection's end. */
        bus_auth_flush();
        manager_free(m);
        log_flush_suppressed();
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
