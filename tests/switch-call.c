/* switch-call: connects to a bus as whoever runs it, becomes someone else while keeping the connection, and
 * only then calls a method of org.dlrd1.Manager over it, for tests/integration/auth.test. The bus vouches for
 * the process that connected (dbus-daemon takes SO_PEERCRED then); /proc shows the process as it is now.
 *
 *   switch-call --bus ADDRESS --userns METHOD [STRING...]
 *       connects (run it as an unprivileged user), then enters a user namespace of its own in which it is
 *       uid 0 with every capability, CAP_NET_ADMIN among them, as /proc/PID/status shows; then calls.
 *   switch-call --bus ADDRESS --drop-to UID METHOD [STRING...]
 *       connects as root, then drops to uid and gid UID with no groups and no capabilities; then calls.
 *
 * The method takes the strings (signature "s" per STRING). Output, two lines:
 *
 *   proc uid=UID capeff=HEX    Uid (real, in its own namespace) and CapEff of /proc/self/status at the call
 *   OK | ERROR-NAME            the reply
 *
 * Exit status: 0 when the call was answered (either way), 1 on a local failure. Not installed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

static int write_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, text, strlen(text));
        if (n < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        close(fd);
        return n == (ssize_t) strlen(text) ? 0 : -EIO;
}

/* A user namespace in which this process's uid and gid are 0; the kernel gives it every capability there. */
static int enter_userns(void)
{
        uid_t uid = geteuid();
        gid_t gid = getegid();
        char map[64];
        int r;

        if (unshare(CLONE_NEWUSER) < 0)
                return -errno;
        r = write_file("/proc/self/setgroups", "deny");
        if (r >= 0) {
                snprintf(map, sizeof map, "0 %u 1", (unsigned) uid);
                r = write_file("/proc/self/uid_map", map);
        }
        if (r >= 0) {
                snprintf(map, sizeof map, "0 %u 1", (unsigned) gid);
                r = write_file("/proc/self/gid_map", map);
        }
        return r;
}

static int drop_to(uid_t uid)
{
        if (setgroups(0, NULL) < 0 || setresgid((gid_t) uid, (gid_t) uid, (gid_t) uid) < 0 ||
                        setresuid(uid, uid, uid) < 0)
                return -errno;
        return 0;
}

/* "proc uid=... capeff=..." from /proc/self/status. */
static int print_proc(void)
{
        char line[256], uid[32] = "?", cap[32] = "?";
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                if (strncmp(line, "Uid:", 4) == 0)
                        (void) sscanf(line + 4, "%31s", uid);
                else if (strncmp(line, "CapEff:", 7) == 0)
                        (void) sscanf(line + 7, "%31s", cap);
        }
        fclose(f);
        printf("proc uid=%s capeff=%s\n", uid, cap);
        return 0;
}

int main(int argc, char *argv[])
{
        static const struct option options[] = {
                { "bus", required_argument, NULL, 'b' },
                { "userns", no_argument, NULL, 'u' },
                { "drop-to", required_argument, NULL, 'd' },
                {},
        };
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *call = NULL, *reply = NULL;
        sd_bus *bus = NULL;
        const char *address = NULL, *unique;
        long drop = -1;
        int userns = 0, c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'b':
                        address = optarg;
                        break;
                case 'u':
                        userns = 1;
                        break;
                case 'd':
                        drop = strtol(optarg, NULL, 10);
                        break;
                default:
                        return 1;
                }
        if (!address || userns == (drop >= 0) || optind >= argc) {
                fprintf(stderr,
                        "usage: switch-call --bus ADDRESS (--userns | --drop-to UID) METHOD [STRING...]\n");
                return 1;
        }

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        /* Waits for Hello's answer: the connection is made and registered before anything changes. */
        if (r >= 0)
                r = sd_bus_get_unique_name(bus, &unique);
        if (r < 0) {
                fprintf(stderr, "switch-call: connecting to %s: %s\n", address, strerror(-r));
                return 1;
        }

        r = userns ? enter_userns() : drop_to((uid_t) drop);
        if (r < 0) {
                fprintf(stderr, "switch-call: %s: %s\n",
                        userns ? "entering a user namespace" : "dropping root", strerror(-r));
                return 1;
        }
        r = print_proc();
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &call, "org.dlrd1", "/org/dlrd1", "org.dlrd1.Manager",
                        argv[optind]);
        for (int i = optind + 1; r >= 0 && i < argc; i++)
                r = sd_bus_message_append(call, "s", argv[i]);
        if (r < 0) {
                fprintf(stderr, "switch-call: %s\n", strerror(-r));
                return 1;
        }
        r = sd_bus_call(bus, call, 60 * 1000000ULL, &error, &reply);
        if (r >= 0)
                printf("OK\n");
        else if (sd_bus_error_is_set(&error))
                printf("%s\n", error.name);
        else {
                fprintf(stderr, "switch-call: calling %s: %s\n", argv[optind], strerror(-r));
                return 1;
        }
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(call);
        sd_bus_flush_close_unref(bus);
        return 0;
}
