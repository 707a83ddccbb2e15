/* Unit tests for daemon/watchdog.[ch]: with WATCHDOG_USEC set, the event loop sends WATCHDOG=1 to
 * NOTIFY_SOCKET at half the interval; without it, nothing is set up. A datagram socket of the test stands in
 * for systemd's notification socket. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "shared/cleanup.h"
#include "shared/time.h"
#include "unit.h"
#include "watchdog.h"

static char sock_path[108];

/* Binds a datagram socket in a fresh directory and points NOTIFY_SOCKET at it. */
static int notify_socket(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dir[] = "/tmp/dlrd-wd.XXXXXX";
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(sock_path, sizeof sock_path, "%s/notify", dir);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        setenv("NOTIFY_SOCKET", sock_path, 1);
        return fd;
}

static void notify_socket_done(int fd)
{
        char dir[sizeof sock_path];

        close(fd);
        unlink(sock_path);
        snprintf(dir, sizeof dir, "%s", sock_path);
        *strrchr(dir, '/') = 0;
        rmdir(dir);
}

/* Runs e for usec microseconds. */
static void run_for(sd_event *e, uint64_t usec)
{
        uint64_t end = now(CLOCK_MONOTONIC) + usec, t;

        while ((t = now(CLOCK_MONOTONIC)) < end)
                ck_assert_int_ge(sd_event_run(e, end - t), 0);
}

START_TEST(test_pings_at_half_the_interval)
{
        sd_event *e = NULL;
        sd_event_source *s = NULL;
        uint64_t times[16];
        unsigned n = 0;
        char buf[256], pid[32];
        int fd = notify_socket();
        ssize_t k;

        setenv("WATCHDOG_USEC", "200000", 1);
        snprintf(pid, sizeof pid, "%d", (int) getpid());
        setenv("WATCHDOG_PID", pid, 1);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(watchdog_setup(e, &s), 0);
        ck_assert_ptr_nonnull(s);
        /* 100 ms apart: about four pings in 450 ms, the first 100 ms after the start. */
        uint64_t t0 = now(CLOCK_MONOTONIC);
        for (int i = 0; i < 9; i++) {
                run_for(e, 50000);
                while (n < ELEMENTSOF(times) && (k = recv(fd, buf, sizeof buf - 1, 0)) > 0) {
                        buf[k] = 0;
                        ck_assert_str_eq(buf, "WATCHDOG=1");
                        times[n++] = now(CLOCK_MONOTONIC) - t0;
                }
        }
        uint64_t elapsed = now(CLOCK_MONOTONIC) - t0;
        /* At least three in 450 ms; and never more often than every 100 ms, however slow this machine is. */
        ck_assert_uint_ge(n, 3);
        ck_assert_uint_le(n, elapsed / 100000 + 1);
        ck_assert_uint_ge(times[0], 90000);
        for (unsigned i = 1; i < n; i++)
                ck_assert_uint_ge(times[i] - times[i - 1], 40000); /* read in 50 ms turns: roughly spaced */
        sd_event_source_disable_unref(s);
        sd_event_unref(e);
        notify_socket_done(fd);
}
END_TEST

START_TEST(test_off_without_watchdog_usec)
{
        sd_event *e = NULL;
        sd_event_source *s = (sd_event_source *) 1;
        char buf[64];
        int fd = notify_socket();

        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(watchdog_setup(e, &s), 0);
        ck_assert_ptr_null(s);
        run_for(e, 100000);
        ck_assert_int_lt(recv(fd, buf, sizeof buf, 0), 0);
        sd_event_unref(e);
        notify_socket_done(fd);
}
END_TEST

START_TEST(test_off_for_another_pid)
{
        sd_event *e = NULL;
        sd_event_source *s = (sd_event_source *) 1;
        char pid[32];

        /* The variables were meant for another process (e.g. dlrd's parent): not for us. */
        setenv("WATCHDOG_USEC", "200000", 1);
        snprintf(pid, sizeof pid, "%d", (int) getpid() + 1);
        setenv("WATCHDOG_PID", pid, 1);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(watchdog_setup(e, &s), 0);
        ck_assert_ptr_null(s);
        sd_event_unref(e);
}
END_TEST

static Suite *watchdog_suite(void)
{
        Suite *s = suite_create("watchdog");
        TCase *tc = tcase_create("pings");

        tcase_add_test(tc, test_pings_at_half_the_interval);
        tcase_add_test(tc, test_off_without_watchdog_usec);
        tcase_add_test(tc, test_off_for_another_pid);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(watchdog_suite());
}
