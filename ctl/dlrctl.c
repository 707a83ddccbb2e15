/* dlrctl: the command line of dlrd. main() checks the options and the command's shape, then runs one verb;
 * verbs check their arguments completely before the first D-Bus call, so a usage error sends nothing. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define EXIT_USAGE 2

static const Verb verbs[] = {
        { "router", "create", 1, 2, verb_router_create, "NAME [TABLE]",
                "Create a router; TABLE 0 or none lets dlrd choose" },
        { "router", "delete", 1, 1, verb_router_delete, "NAME", "Delete a router with its LIFs and routes" },
        { "router", "list", 0, 0, verb_router_list, "", "List routers" },
        { "lif", "create", 5, ARGS_UNLIMITED, verb_lif_create,
                "ROUTER NAME vxlan|vlan SEGMENT [--mtu N] ADDRESS/LEN...",
                "Create a LIF on a VXLAN (VNI) or VLAN (VLAN id) segment" },
        { "lif", "delete", 2, 2, verb_lif_delete, "ROUTER NAME", "Delete a LIF" },
        { "lif", "list", 0, 1, verb_lif_list, "[ROUTER]", "List LIFs" },
        { "route", "add", 3, ARGS_UNLIMITED, verb_route_add,
                "ROUTER PREFIX {via GW [dev LIF] | dev LIF}... | blackhole",
                "Add or replace a route; several next hops make it ECMP" },
        { "route", "delete", 2, 2, verb_route_delete, "ROUTER PREFIX", "Delete a route" },
        { "route", "list", 1, 1, verb_route_list, "ROUTER", "List a router's routes" },
        { "route", "load", 2, 2, verb_route_load, "ROUTER FILE|-",
                "Add the routes of FILE (\"PREFIX via GW dev LIF\" lines) in one call" },
        { "endpoint", "set", 5, ARGS_UNLIMITED, verb_endpoint_set, "ROUTER LIF MAC HOST ADDRESS...",
                "Declare that the VM with MAC and ADDRESSes lives on HOST" },
        { "endpoint", "delete", 3, 3, verb_endpoint_delete, "ROUTER LIF MAC", "Forget a VM" },
        { "endpoint", "list", 0, 1, verb_endpoint_list, "[ROUTER]", "List VMs" },
        { "port", "attach", 3, 3, verb_port_attach, "ROUTER LIF IFNAME", "Plug a local VM port into a LIF" },
        { "port", "detach", 1, 1, verb_port_detach, "IFNAME", "Unplug a local VM port" },
        { "peer", "add", 3, 3, verb_peer_add, "HOST VTEP BUS_ADDRESS", "Add a peer host" },
        { "peer", "remove", 1, 1, verb_peer_remove, "HOST", "Remove a peer host" },
        { "peer", "list", 0, 0, verb_peer_list, "", "List peer hosts" },
        { "rule", "add", 3, ARGS_UNLIMITED, verb_rule_add, "ROUTER NAME KEY=VALUE...",
                "Add or replace a firewall rule" },
        { "rule", "delete", 2, 2, verb_rule_delete, "ROUTER NAME", "Delete a firewall rule" },
        { "rule", "list", 1, 1, verb_rule_list, "ROUTER",
                "List a router's firewall rules in order, with packet and byte counters" },
        { "default-action", NULL, 2, 2, verb_default_action, "ROUTER allow|drop|reject",
                "Set what the firewall does when no rule matches" },
        { "export", NULL, 0, 0, verb_export, "", "Print the whole configuration as JSON" },
        { "apply", NULL, 1, 1, verb_apply, "FILE|-",
                "Replace the whole configuration; prints the new generation" },
        { "status", NULL, 0, 0, verb_status, "", "Show host id, VTEP, generation, digest and peers" },
};

void ctl_log(const char *fmt, ...)
{
        va_list ap;

        fputs("dlrctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

int ctl_log_errno(int r, const char *fmt, ...)
{
        va_list ap;

        errno = -r; /* for %m */
        fputs("dlrctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return r;
}

static void print_verb_usage(FILE *f, const Verb *v)
{
        fprintf(f, "dlrctl [OPTIONS] %s%s%s%s%s\n", v->noun, v->verb ? " " : "", v->verb ? v->verb : "",
                *v->synopsis ? " " : "", v->synopsis);
}

int ctl_usage_error(const Ctl *c, const char *fmt, ...)
{
        va_list ap;

        fputs("dlrctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nusage: ", stderr);
        print_verb_usage(stderr, c->verb);
        return -CTL_EUSAGE;
}

static void help(void)
{
        const char *noun = NULL;

        printf("dlrctl [OPTIONS] COMMAND ...\n\n"
               "Configure dlrd, the distributed logical router daemon, over D-Bus.\n\n"
               "Options:\n"
               "  --bus ADDRESS        talk to dlrd on this D-Bus address instead of the system bus\n"
               "  --json               print lists and status as JSON\n"
               "  --no-legend          print tables without their header line\n"
               "  --no-ask-password    do not let a polkit agent ask for authentication\n"
               "  --mtu N              (lif create) the LIF's MTU; default: derived by dlrd\n"
               "  -h --help            show this help\n"
               "  --version            show the version\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                const Verb *v = &verbs[i];
                char head[64];

                if (!noun || !streq(noun, v->noun))
                        putchar('\n');
                noun = v->noun;
                snprintf(head, sizeof head, "%s%s%s", v->noun, v->verb ? " " : "", v->verb ? v->verb : "");
                printf("  %s%s%s\n      %s\n", head, *v->synopsis ? " " : "", v->synopsis, v->help);
        }
        printf("\nRule keys: priority=N source=CIDR[,CIDR...] destination=CIDR[,CIDR...]\n"
               "           protocol=any|tcp|udp|icmp|icmpv6 ports=LIST action=allow|drop|reject\n"
               "\nExit status: 0 success, 1 failure (a D-Bus error, an unreadable or malformed file),\n"
               "2 usage error (nothing was sent). See dlrctl(8).\n");
}

static int short_usage(void)
{
        fprintf(stderr, "usage: dlrctl [--bus ADDRESS] [--json] [--no-legend] [--no-ask-password] COMMAND ...\n"
                        "Try 'dlrctl --help' for the commands.\n");
        return EXIT_USAGE;
}

/* Finds the verb for args; reports and returns NULL when there is none. */
static const Verb *find_verb(char **args, unsigned n, unsigned *ret_words)
{
        bool noun_known = false;

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                const Verb *v = &verbs[i];

                if (!streq(v->noun, args[0]))
                        continue;
                noun_known = true;
                if (!v->verb) {
                        *ret_words = 1;
                        return v;
                }
                if (n >= 2 && streq(v->verb, args[1])) {
                        *ret_words = 2;
                        return v;
                }
        }
        if (!noun_known)
                ctl_log("unknown command \"%s\"", args[0]);
        else if (n < 2)
                ctl_log("\"%s\" needs a subcommand", args[0]);
        else
                ctl_log("unknown command \"%s %s\"", args[0], args[1]);
        if (noun_known) {
                fputs("usage:\n", stderr);
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (streq(verbs[i].noun, args[0])) {
                                fputs("  ", stderr);
                                print_verb_usage(stderr, &verbs[i]);
                        }
        } else
                (void) short_usage();
        return NULL;
}

static int parse_options(int argc, char *argv[], Ctl *c)
{
        enum { ARG_BUS = 0x100, ARG_JSON, ARG_NO_LEGEND, ARG_NO_ASK_PASSWORD, ARG_MTU, ARG_VERSION };
        static const struct option options[] = {
                { "bus", required_argument, NULL, ARG_BUS },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                { "mtu", required_argument, NULL, ARG_MTU },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int o;

        opterr = 0; /* reported below, in dlrctl's words */
        while ((o = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (o) {
                case ARG_BUS: c->address = optarg; break;
                case ARG_JSON: c->json = true; break;
                case ARG_NO_LEGEND: c->legend = false; break;
                case ARG_NO_ASK_PASSWORD: c->ask_password = false; break;
                case ARG_MTU: c->mtu = optarg; break;
                case 'h': help(); return 0;
                case ARG_VERSION: puts(PACKAGE_VERSION); return 0;
                case ':':
                        ctl_log("option %s needs an argument", argv[optind - 1]);
                        return -CTL_EUSAGE;
                default:
                        if (optopt)
                                ctl_log("unknown option -%c", optopt);
                        else
                                ctl_log("unknown option %s", argv[optind - 1]);
                        return -CTL_EUSAGE;
                }
        }
        return 1;
}

int main(int argc, char *argv[])
{
        Ctl c = { .legend = true, .ask_password = true };
        const Verb *v;
        unsigned n, words;
        char **args;
        int r;

        r = parse_options(argc, argv, &c);
        if (r == -CTL_EUSAGE)
                return short_usage();
        if (r == 0)
                return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;

        args = argv + optind;
        n = (unsigned) (argc - optind);
        if (n == 0) {
                ctl_log("missing command");
                return short_usage();
        }
        if (streq(args[0], "help")) {
                help();
                return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        }
        v = find_verb(args, n, &words);
        if (!v)
                return EXIT_USAGE;
        c.verb = v;
        args += words;
        n -= words;
        if (n < v->min_args)
                r = ctl_usage_error(&c, "missing argument");
        else if (n > v->max_args)
                r = ctl_usage_error(&c, "unexpected argument \"%s\"", args[v->max_args]);
        else if (c.mtu && v->run != verb_lif_create)
                r = ctl_usage_error(&c, "--mtu only applies to \"lif create\"");
        else
                r = v->run(&c, args, n);

        sd_bus_flush_close_unref(c.bus);
        if (r == -CTL_EUSAGE)
                return EXIT_USAGE;
        if (fflush(stdout) != 0 || ferror(stdout)) {
                ctl_log("cannot write the output: %m");
                return EXIT_FAILURE;
        }
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
