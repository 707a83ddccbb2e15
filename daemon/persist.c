/* The saved state: a snapshot replaced atomically and a journal of the changes since. */
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
#define PREV_FILE ".state.json.prev"
#define STATE_MAX (1024L * 1024 * 1024)

/* Makes the directory's entries durable. */
static int sync_dir(int dfd)
{
        return fsync(dfd) < 0 ? -errno : 0;
}

int persist_save(const char *dir, const char *data, size_t len, bool *ret_torn)
{
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        char tmp[64];
        bool had_prev = true;
        int r;

        *ret_torn = false;
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
        /* Keep the snapshot being replaced under a second name until the new one is durable, so that a
         * failure after the rename can put it back: a refused change must not reappear at the next start. */
        if (r == 0 && unlinkat(dfd, PREV_FILE, 0) < 0 && errno != ENOENT)
                r = -errno;
        if (r == 0 && linkat(dfd, STATE_FILE, dfd, PREV_FILE, 0) < 0) {
                if (errno == ENOENT)
                        had_prev = false;
                else
                        r = -errno;
        }
        if (r == 0 && renameat(dfd, tmp, dfd, STATE_FILE) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dfd, tmp, 0);
                (void) unlinkat(dfd, PREV_FILE, 0);
                return r;
        }
        r = sync_dir(dfd);
        if (r < 0) {
                /* Not known to be durable: go back to the previous snapshot, which with the journal still
                 * beside it holds exactly what was there before. */
                int k = had_prev ? renameat(dfd, PREV_FILE, dfd, STATE_FILE) : unlinkat(dfd, STATE_FILE, 0);
                if (k < 0 || fsync(dfd) < 0)
                        *ret_torn = true;
                return r;
        }
        /* The snapshot is durable and holds everything the journal did: the journal and the previous snapshot
         * can go. Failing to remove them loses nothing: replay skips records the snapshot already has. */
        (void) unlinkat(dfd, JOURNAL_FILE, 0);
        (void) unlinkat(dfd, PREV_FILE, 0);
        (void) fsync(dfd);
        return 0;
}

/* Cuts the journal back to its length before a failed append and makes that durable. */
static int journal_cut(int fd, off_t size)
{
        while (ftruncate(fd, size) < 0)
                if (errno != EINTR)
                        return -errno;
        if (fdatasync(fd) < 0)
                return -errno;
        return 0;
}

int persist_append(const char *dir, const char *data, size_t len, bool *ret_torn)
{
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        bool created = false;
        struct stat st;
        int r;

        *ret_torn = false;
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
        /* Where this record begins: a failed append is cut back to exactly here, never further, so that
         * acknowledged records before it stay whatever happened to this one. */
        if (fstat(fd, &st) < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r == 0 && fdatasync(fd) < 0)
                r = -errno;
        if (r == 0 && created)
                r = sync_dir(dfd);
        if (r < 0) {
                /* After a failed fdatasync the record may still reach the disk later: remove it. */
                if (journal_cut(fd, st.st_size) < 0)
                        *ret_torn = true;
                return r;
        }
        return 0;
}

int persist_cut_journal(const char *dir, size_t size)
{
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = openat(dfd, JOURNAL_FILE, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return journal_cut(fd, (off_t) size);
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
