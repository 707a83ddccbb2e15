/* Atomic replacement of the state file. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist.h"
#include "shared/cleanup.h"
#include "shared/io.h"

#define STATE_FILE "state.json"
#define JOURNAL_FILE "state.journal"
#define STATE_MAX (1024L * 1024 * 1024)

int persist_save(const char *dir, const char *data, size_t len)
{
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        char tmp[64];
        int r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        snprintf(tmp, sizeof tmp, ".%s.%ld", STATE_FILE, (long) getpid());
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && renameat(dfd, tmp, dfd, STATE_FILE) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dfd, tmp, 0);
                return r;
        }
        /* The snapshot holds everything the journal did: drop it. A crash before the unlink only means records
         * are replayed onto a snapshot that already has them, which replay tolerates. */
        if (unlinkat(dfd, JOURNAL_FILE, 0) < 0 && errno != ENOENT)
                return -errno;
        /* The rename is durable only once the directory is. */
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}

int persist_append(const char *dir, const char *data, size_t len)
{
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        bool created = false;
        int r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = openat(dfd, JOURNAL_FILE, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                fd = openat(dfd, JOURNAL_FILE, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
                created = true;
        }
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r < 0) {
                /* Cut off the partial record, so the next one does not glue onto it. */
                struct stat st;
                if (fstat(fd, &st) == 0 && (size_t) st.st_size >= len)
                        (void) ftruncate(fd, st.st_size - (off_t) len);
                return r;
        }
        if (fdatasync(fd) < 0)
                return -errno;
        if (created && fsync(dfd) < 0)
                return -errno;
        return 0;
}

static int load_file(const char *dir, const char *name, char **ret, size_t *ret_len);

int persist_load(const char *dir, char **ret, size_t *ret_len)
{
        return load_file(dir, STATE_FILE, ret, ret_len);
}

int persist_load_journal(const char *dir, char **ret, size_t *ret_len)
{
        return load_file(dir, JOURNAL_FILE, ret, ret_len);
}

static int load_file(const char *dir, const char *name, char **ret, size_t *ret_len)
{
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t got = 0;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size > STATE_MAX)
                return -EFBIG;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (got < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + got, (size_t) st.st_size - got);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                got += (size_t) k;
        }
        buf[got] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = got;
        return 0;
}
