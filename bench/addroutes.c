/* Benchmark client: builds one AddRoutes call with N routes (untimed), then times the call from send to
 * reply. Prints "seconds N". */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The i-th /24 counted up from 11.0.0.0. ip-batch.sh generates the same sequence. */
static void prefix(unsigned i, char *buf, size_t size)
{
        snprintf(buf, size, "%u.%u.%u.0/24", 11 + i / 65536, (i / 256) % 256, i % 256);
}

int main(int argc, char *argv[])
{
        const char *address = NULL, *router = "bench", *lif = "", *gateway = NULL;
        unsigned count = 100000, offset = 0;
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        char p[32];
        int c, r;

        static const struct option options[] = {
                { "bus", required_argument, NULL, 'b' },   { "router", required_argument, NULL, 'r' },
                { "lif", required_argument, NULL, 'l' },   { "gateway", required_argument, NULL, 'g' },
                { "count", required_argument, NULL, 'n' }, { "offset", required_argument, NULL, 'o' },
                {},
        };
        while ((c = getopt_long(argc, argv, "b:r:l:g:n:o:", options, NULL)) >= 0)
                switch (c) {
                case 'b': address = optarg; break;
                case 'r': router = optarg; break;
                case 'l': lif = optarg; break;
                case 'g': gateway = optarg; break;
                case 'n': count = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'o': offset = (unsigned) strtoul(optarg, NULL, 10); break;
                default: return 2;
                }
        if (!address || !gateway) {
                fprintf(stderr, "usage: addroutes --bus ADDRESS --gateway IP [--router R] [--lif L] [--count N]\n");
                return 2;
        }

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                fprintf(stderr, "connecting to %s: %s\n", address, strerror(-r));
                return 1;
        }

        r = sd_bus_message_new_method_call(bus, &m, "org.dlrd1", "/org/dlrd1", "org.dlrd1.Manager", "AddRoutes");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", router);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sa(ss))");
        for (unsigned i = 0; r >= 0 && i < count; i++) {
                prefix(offset + i, p, sizeof p);
                r = sd_bus_message_append(m, "(sa(ss))", p, 1, gateway, lif);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0) {
                fprintf(stderr, "building the call: %s\n", strerror(-r));
                return 1;
        }

        double t0 = now();
        r = sd_bus_call(bus, m, 600 * 1000000ULL, &error, &reply);
        double t1 = now();
        if (r < 0) {
                fprintf(stderr, "AddRoutes failed: %s\n", error.message ? error.message : strerror(-r));
                return 1;
        }
        printf("%.3f %u\n", t1 - t0, count);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        sd_bus_error_free(&error);
        sd_bus_flush_close_unref(bus);
        return 0;
}
