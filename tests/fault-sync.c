/* fault-sync.so: makes fsync() and fdatasync() fail with EIO on demand, for tests/integration/faults-disk.test.
 *
 * LD_PRELOAD it into dlrd with DLR_FAULT_SYNC=FILE. While FILE holds "file", syncs of regular files fail; "dir",
 * syncs of directories fail; "all", both; anything else (or no FILE), nothing fails. Each injected failure
 * appends a line to FILE.log, so a test can tell the fault was hit. The data itself is written normally, as
 * on a disk whose write-back fails: only the sync reports the error. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync(int fd);
int fdatasync(int fd);

static bool should_fail(int fd, const char *what)
{
        const char *ctl = getenv("DLR_FAULT_SYNC");
        char mode[16] = "", logpath[4096];
        struct stat st;
        bool dir, fail;
        ssize_t k;
        int cfd;

        if (!ctl || !*ctl)
                return false;
        cfd = open(ctl, O_RDONLY | O_CLOEXEC);
        if (cfd < 0)
                return false;
        k = read(cfd, mode, sizeof mode - 1);
        close(cfd);
        if (k <= 0)
                return false;
        mode[k] = 0;
        mode[strcspn(mode, "\n")] = 0;
        if (fstat(fd, &st) < 0)
                return false;
        dir = S_ISDIR(st.st_mode);
        fail = strcmp(mode, "all") == 0 || (dir && strcmp(mode, "dir") == 0) ||
                (S_ISREG(st.st_mode) && strcmp(mode, "file") == 0);
        if (fail && (size_t) snprintf(logpath, sizeof logpath, "%s.log", ctl) < sizeof logpath) {
                int lfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (lfd >= 0) {
                        char line[64];
                        int n = snprintf(line, sizeof line, "%s %s\n", what, dir ? "dir" : "file");
                        if (n > 0)
                                (void) !write(lfd, line, (size_t) n);
                        close(lfd);
                }
        }
        return fail;
}

int fsync(int fd)
{
        static int (*real)(int);

        if (should_fail(fd, "fsync")) {
                errno = EIO;
                return -1;
        }
        if (!real)
                real = (int (*)(int)) dlsym(RTLD_NEXT, "fsync");
        return real ? real(fd) : (errno = ENOSYS, -1);
}

int fdatasync(int fd)
{
        static int (*real)(int);

        if (should_fail(fd, "fdatasync")) {
                errno = EIO;
                return -1;
        }
        if (!real)
                real = (int (*)(int)) dlsym(RTLD_NEXT, "fdatasync");
        return real ? real(fd) : (errno = ENOSYS, -1);
}
