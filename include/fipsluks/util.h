/* SPDX-License-Identifier: LGPL-2.1-or-later */
/** @file util.h Small helpers shared by the core library and the command line. */
#ifndef FIPSLUKS_UTIL_H
#define FIPSLUKS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * Parse a decimal unsigned 64-bit number strictly: digits only, no sign, no spaces, no trailing
 * characters, no overflow. @return 0 or -EINVAL / -ERANGE; @p ret is written only on success.
 */
int fl_parse_u64(const char *s, uint64_t *ret);

/** One read(), retried when a signal interrupts it. @return bytes read (0: end of file), or -errno. */
ssize_t fl_read_eintr(int fd, void *buf, size_t len);

/** pread() until @p len bytes or end of file. @return bytes read, or a negative errno. */
ssize_t fl_pread_full(int fd, void *buf, size_t len, off_t off);

/** @p n bytes as 2 * @p n lowercase hex digits and a NUL, into @p out (2 * @p n + 1 bytes). */
void fl_hex_encode(const unsigned char *in, size_t n, char *out);

/** Exactly 2 * @p n lowercase hex digits (nothing after them) into @p out. @return 0, or -EINVAL. */
int fl_hex_decode(const char *hex, unsigned char *out, size_t n);

/** pwrite() all @p len bytes (a write of 0 bytes is -EIO). @return @p len, or a negative errno. */
ssize_t fl_pwrite_full(int fd, const void *buf, size_t len, off_t off);

/**
 * Create the new file @p path for writing: O_EXCL (an existing file or any symbolic link, dangling
 * or not, is refused), mode @p mode set on the descriptor whatever the umask.
 * @return the descriptor, or a negative errno (-EEXIST).
 */
int fl_create_new(const char *path, mode_t mode);

/** Make the directory entry of @p path durable: fsync() its directory. @return 0 or -errno. */
int fl_fsync_parent(const char *path);

/** Remove @p path only while it still names the file open as @p fd (never another file put there). */
void fl_unlink_own(const char *path, int fd);

/** True when all @p len bytes of @p buf are zero. */
bool fl_all_zero(const void *buf, size_t len);

/**
 * The UTF-8 character at @p s: @return its length in bytes (1..4) with its code point in
 * *@p ret_cp, or 0 when @p s does not start a valid sequence (overlong forms, surrogates and values
 * past U+10FFFF are not valid). A NUL byte is a character of length 1.
 */
size_t fl_utf8_char(const char *s, uint32_t *ret_cp);

/**
 * Whether code point @p cp must never reach a terminal, a spreadsheet or a shell command as it is:
 * C0 controls, DEL, C1 controls (U+0080-U+009F; some terminals act on them) and the invisible
 * characters that change how text reads: bidirectional embeddings, overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069), marks (U+200E, U+200F, U+061C), zero-width characters
 * (U+200B-U+200D, U+2060, U+FEFF) and the line and paragraph separators (U+2028, U+2029).
 */
bool fl_char_unsafe(uint32_t cp);

/** True when character @p c needs no quoting in a POSIX shell word: [A-Za-z0-9_@%+=:,./-]. */
bool fl_shell_safe(char c);

/**
 * Quote @p s for a POSIX shell when it needs quoting (used in remedies): a copy when it is made of
 * [A-Za-z0-9_@%+=:,./-] only, else single-quoted with ' written as '\''; "" and NULL give ''.
 * @return a new string, or NULL on allocation failure.
 */
char *fl_shell_quote(const char *s);

/**
 * A string built by appending, with a sticky error: after the first allocation failure every append
 * is a no-op, so a caller appends freely and checks once, at fl_sb_take(). Zero-initialise it.
 */
struct fl_sb {
    char *s;     /**< the string so far (NULL until the first append) */
    size_t len;  /**< its length */
    size_t size; /**< bytes allocated */
    bool failed; /**< an allocation failed: @p s is gone and appends do nothing */
};

/** Append @p s (NULL appends nothing). */
void fl_sb_append(struct fl_sb *b, const char *s);

/** Append the @p n bytes at @p s. */
void fl_sb_append_n(struct fl_sb *b, const char *s, size_t n);

/** Empty @p b, keeping its allocation for what is appended next (a failed one stays failed). */
void fl_sb_clear(struct fl_sb *b);

/** Append printf-formatted text. */
void fl_sb_appendf(struct fl_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Append @p s quoted for a POSIX shell, as fl_shell_quote() quotes it. */
void fl_sb_append_quoted(struct fl_sb *b, const char *s);

/**
 * The string built ("" when nothing was appended), which the caller frees; @p b is reset.
 * @return NULL when an allocation failed on the way (or now).
 */
char *fl_sb_take(struct fl_sb *b);

/** asprintf() that returns the string, or NULL when out of memory. */
char *fl_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Replace *@p dst (freed) with a copy of @p s, or with NULL when @p s is NULL or empty.
 * @return 0, or -ENOMEM (then *@p dst is NULL).
 */
int fl_strdup_opt(char **dst, const char *s);

#endif
