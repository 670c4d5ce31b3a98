/* SPDX-License-Identifier: Apache-2.0 */
/* Symbol names as people read them: C++ (Itanium ABI, through libiberty's
 * demangler, libstdc++'s own), Rust legacy (_ZN...17h<hash>E, hash
 * dropped) and Rust v0 (_R..., tgprof's own demangler). The symbolizer
 * keeps the mangled name as the frame's system name and shows what this
 * returns.
 *
 * Hostile input: names come from any ELF file a process maps. Input and
 * output lengths, recursion depth and the work a v0 name can ask for are
 * bounded; a name that breaks a bound is simply not demangled. */
#ifndef TGPROF_RECEIVER_DEMANGLE_H
#define TGPROF_RECEIVER_DEMANGLE_H

#include <stddef.h>

/* Longer mangled names are left as they are. */
#define DEMANGLE_MAX_INPUT 4096
/* Demangled names longer than this are not produced. */
#define DEMANGLE_MAX_OUTPUT 8192

enum demangle_lang {
	DEMANGLE_NONE = 0, /* not a mangled name we know */
	DEMANGLE_CPP,
	DEMANGLE_RUST_LEGACY,
	DEMANGLE_RUST_V0,
};

/* Which scheme @name is mangled with, from its prefix and shape alone. */
enum demangle_lang demangle__lang(const char *name);

/*
 * The demangled form of @name (caller frees with free()), or NULL with
 * errno: EINVAL not mangled or malformed, E2BIG over a bound, ENOMEM.
 * A trailing ".llvm.NNNN" (Rust, LTO) is ignored; C++ clone suffixes
 * (".cold", ".isra.0") are shown the way c++filt shows them.
 */
char *demangle__name(const char *name);

/*
 * Rust v0 only, into @buf of @cap bytes (always NUL-terminated when @cap >
 * 0). Returns the length written, or -EINVAL (malformed) / -E2BIG (a bound
 * was reached). Exposed for the tests and the fuzzer.
 */
int demangle__rust_v0(const char *name, char *buf, size_t cap);

/* Rust legacy only; same contract as demangle__rust_v0(). */
int demangle__rust_legacy(const char *name, char *buf, size_t cap);

#endif
