// SPDX-License-Identifier: Apache-2.0
/* Tests of the demangler (receiver/symbols/demangle.c): C++ through libiberty,
 * Rust legacy and v0 by tgprof's own code, and names built to break it
 * (deep nesting, self-referring backrefs, lengths past every bound). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/symbols/demangle.h"

struct vec {
	const char *in;
	const char *out;
};

static void assert_demangles(const struct vec *v, size_t n)
{
	size_t i;
	char *s;

	for (i = 0; i < n; i++) {
		s = demangle__name(v[i].in);
		cr_assert(s, "%s: %s", v[i].in, strerror(errno));
		cr_assert_str_eq(s, v[i].out, "%s", v[i].in);
		free(s);
	}
}

Test(demangle, cpp_names_come_out_as_cppfilt_shows_them)
{
	static const struct vec v[] = {
		{ "_ZN11tgprof_demo6shapes4areaEii",
		  "tgprof_demo::shapes::area(int, int)" },
		{ "_ZN3foo3barIiEEvT_", "void foo::bar<int>(int)" },
		{ "_ZNSt6vectorIiSaIiEE9push_backERKi",
		  "std::vector<int, std::allocator<int> >::push_back(int "
		  "const&)" },
		{ "_Z4workv.cold", "work() [clone .cold]" },
	};

	assert_demangles(v, sizeof(v) / sizeof(v[0]));
	cr_assert_eq(demangle__lang("_Z4workv"), DEMANGLE_CPP);
}

Test(demangle, plain_c_names_are_left_alone)
{
	static const char *const names[] = { "main",   "getpid",
					     "_start", "__libc_start_main",
					     "_Zz",    "" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		errno = 0;
		cr_assert_null(demangle__name(names[i]), "%s", names[i]);
		cr_assert_eq(errno, EINVAL);
	}
}

Test(demangle, rust_legacy_names_lose_their_hash_and_escapes)
{
	static const struct vec v[] = {
		{ "_ZN4core3fmt9Arguments6new_v117h0123456789abcdefE",
		  "core::fmt::Arguments::new_v1" },
		{ "_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops.."
		  "drop..Drop$GT$4drop17h1234567890abcdefE",
		  "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop" },
		{ "_ZN6tgprof4demo11rust_legacy17h0123456789abcdefE.llvm.42",
		  "tgprof::demo::rust_legacy" },
		{ "_ZN4test6$u7e$x17h0000000000000000E", "test::~x" },
	};

	assert_demangles(v, sizeof(v) / sizeof(v[0]));
	cr_assert_eq(demangle__lang("_ZN4core3fmt9Arguments6new_v117h01234567"
				    "89abcdefE"),
		     DEMANGLE_RUST_LEGACY);
}

Test(demangle, rust_v0_names_are_decoded)
{
	static const struct vec v[] = {
		{ "_RNvNtCs1234_6tgprof4demo7rust_v0",
		  "tgprof::demo::rust_v0" },
		{ "_RNvC6_123foo3bar", "123foo::bar" },
		{ "_RINvNtC3std3mem8align_ofjE",
		  "std::mem::align_of::<usize>" },
		{ "_RNCNCNgCs6DXkGYLi8lr_2cc5spawn00B5_",
		  "cc::spawn::{closure#0}::{closure#0}" },
		{ "_RMCs4fqI2P2rA04_13const_genericINtB0_8UnsignedKhb_E",
		  "<const_generic::Unsigned<11>>" },
		{ "_RMCs4fqI2P2rA04_13const_genericINtB0_6SignedKanb_E",
		  "<const_generic::Signed<-11>>" },
		{ "_RMCs4fqI2P2rA04_13const_genericINtB0_4BoolKb1_E",
		  "<const_generic::Bool<true>>" },
		{ "_RMCs4fqI2P2rA04_13const_genericINtB0_4CharKc76_E",
		  "<const_generic::Char<'v'>>" },
		{ "_RNqCs4fqI2P2rA04_11utf8_identsu30____7hkackfecea1cbdathfdh9hlq6y",
		  "utf8_idents::\xe1\x83\xa1\xe1\x83\x90\xe1\x83\xad\xe1\x83\x9b"
		  "\xe1\x83\x94\xe1\x83\x9a\xe1\x83\x90\xe1\x83\x93_\xe1\x83\x92"
		  "\xe1\x83\x94\xe1\x83\x9b\xe1\x83\xa0\xe1\x83\x98\xe1\x83\x94"
		  "\xe1\x83\x9a\xe1\x83\x98_\xe1\x83\xa1\xe1\x83\x90\xe1\x83\x93"
		  "\xe1\x83\x98\xe1\x83\x9a\xe1\x83\x98" },
		{ "_RINbNbCskIICzLVDPPb_5alloc5alloc8box_freeDINbNiB4_5boxed5FnBox"
		  "uEp6OutputuEL_ECs1iopQbuBiw2_3std",
		  "alloc::alloc::box_free::<dyn alloc::boxed::FnBox<(), Output = "
		  "()>>" },
		{ "_RNvXs_Cs1234_7mycrateNtB4_3FooNtNtCs5678_4core3fmt7Display3fmt",
		  "<mycrate::Foo as core::fmt::Display>::fmt" },
		{ "_RINvCs1234_1a1fRShE", "a::f::<&[u8]>" },
		{ "_RINvCs1234_1a1fFUKCEuE",
		  "a::f::<unsafe extern \"C\" fn()>" },
		{ "_RINvCs1234_1a1fTlmEE", "a::f::<(i32, u32)>" },
	};

	assert_demangles(v, sizeof(v) / sizeof(v[0]));
}

Test(demangle, malformed_v0_names_fail_cleanly)
{
	static const char *const bad[] = {
		"_R",	       "_RN",	   "_RNv",	   "_RC",
		"_RC99x",      "_RB_",	   "_RB0_",	   "_RNvCB_3foo",
		"_RINvC1a1fE", "_RC3foo!", "_R0C3foo",	   "_RNvC3foo3ba",
		"_RIC1aKAE",   "_RC1aC1b", "_RNvCu3abc1x", "_RNvC3foo",
	};
	char buf[256];
	size_t i;
	int n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = demangle__rust_v0(bad[i], buf, sizeof(buf));
		/* "_RNvC3foo" is "foo" + an empty ident: fine either way,
		 * as long as nothing is read past the end. */
		if (n >= 0)
			continue;
		cr_assert(n == -EINVAL || n == -E2BIG, "%s: %d", bad[i], n);
		cr_assert_str_eq(buf, "");
	}
}

/* Base-62 number of a backref to position @pos. */
static size_t base62(char *out, size_t pos)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char tmp[16];
	size_t n = 0, i;

	if (pos == 0) {
		out[0] = '_';
		return 1;
	}
	pos--;
	do {
		tmp[n++] = digits[pos % 62];
		pos /= 62;
	} while (pos);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '_';
	return n + 1;
}

/*
 * _R INvC1a1f T l E (TBx_Bx_E)... E: every tuple repeats the one before it
 * twice, so the printed name doubles with each. @quiet puts the generic
 * path in the instantiating crate, after a plain name.
 */
static void exponential_name(char *name, size_t levels, bool quiet)
{
	size_t len, prev, cur, i, base;

	len = (size_t)sprintf(name,
			      quiet ? "_RC1aINvC1a1fTlE" : "_RINvC1a1fTlE");
	base = quiet ? 3 : 0;
	prev = base + 8;
	for (i = 0; i < levels; i++) {
		cur = len - 2;
		name[len++] = 'T';
		name[len++] = 'B';
		len += base62(name + len, prev);
		name[len++] = 'B';
		len += base62(name + len, prev);
		name[len++] = 'E';
		prev = cur;
	}
	name[len++] = 'E';
	name[len] = '\0';
}

/* Names a hostile file can carry: bounded work and output, no crash. */
Test(demangle, hostile_names_hit_bounds_not_the_stack, .timeout = 30)
{
	char *name = malloc(DEMANGLE_MAX_INPUT * 2), buf[512];
	size_t i;
	char *s;
	int n;

	cr_assert(name);
	/* Nested generic paths, deeper than any bound. */
	strcpy(name, "_R");
	for (i = 0; i < 1500; i++)
		strcat(name, "I");
	strcat(name, "C1a");
	n = demangle__rust_v0(name, buf, sizeof(buf));
	cr_assert(n == -E2BIG || n == -EINVAL, "%d", n);
	/* A backref that points at itself and one that fans out. */
	cr_assert_lt(demangle__rust_v0("_RINvC1a1fB3_E", buf, sizeof(buf)), 0);
	strcpy(name, "_RINvC1a1fTB9_B9_B9_B9_B9_B9_B9_B9_EE");
	n = demangle__rust_v0(name, buf, sizeof(buf));
	cr_assert(n < 0 || (size_t)n < sizeof(buf));
	/* Exponential output: each tuple holds the previous one twice. */
	exponential_name(name, 60, false);
	n = demangle__rust_v0(name, buf, sizeof(buf));
	cr_assert_eq(n, -E2BIG);
	/* The same as an instantiating crate, parsed without printing:
	 * the step bound stops it. */
	exponential_name(name, 60, true);
	n = demangle__rust_v0(name, buf, sizeof(buf));
	cr_assert(n == -E2BIG || n == -EINVAL, "%d", n);
	/* Longer than DEMANGLE_MAX_INPUT: not demangled at all. */
	memset(name, 'a', DEMANGLE_MAX_INPUT + 10);
	memcpy(name, "_ZN3foo", 7);
	name[DEMANGLE_MAX_INPUT + 10] = '\0';
	errno = 0;
	s = demangle__name(name);
	cr_assert_null(s);
	cr_assert_eq(errno, E2BIG);
	/* A legacy name whose lengths run past the end. */
	cr_assert_lt(demangle__rust_legacy("_ZN999999foo17h0123456789abcdefE",
					   buf, sizeof(buf)),
		     0);
	cr_assert_lt(demangle__rust_legacy("_ZN3foo$u$17h0123456789abcdefE",
					   buf, sizeof(buf)),
		     0);
	free(name);
}

Test(demangle, output_that_does_not_fit_is_refused)
{
	char buf[8];

	cr_assert_eq(demangle__rust_v0("_RNvNtCs1234_6tgprof4demo7rust_v0", buf,
				       sizeof(buf)),
		     -E2BIG);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(demangle__rust_legacy("_ZN6tgprof4demo11rust_legacy17h01"
					   "23456789abcdefE",
					   buf, sizeof(buf)),
		     -E2BIG);
}
