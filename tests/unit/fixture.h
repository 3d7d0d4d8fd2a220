/* Test helpers shared by unit tests that build fixture trees (not a test itself: no test_ prefix). */
#ifndef FL_TEST_FIXTURE_H
#define FL_TEST_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Write @p text to @p root/@p rel, creating the directories on the way. */
static inline void fixture_write(const char *root, const char *rel, const char *text)
{
    char path[1024], parent[1024], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s%s", root, rel);
    snprintf(parent, sizeof(parent), "%s", path);
    for (slash = strchr(parent + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(parent, 0755);
        *slash = '/';
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static inline int fixture_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove @p dir and everything below it, never following a symbolic link: 0, or -1. */
static inline int fixture_rmtree(const char *dir)
{
    return nftw(dir, fixture_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
