// SPDX-License-Identifier: Apache-2.0
/* Symbolizer output stage for names: a mangled symbol becomes the name a
 * person reads, once per symbol (the symbolizer caches the result). C++
 * goes through libiberty's demangler; both Rust schemes are decoded here. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/symbols/demangle.h"

/* libiberty's Itanium demangler: libstdc++'s __cxa_demangle is built from
 * the same source. */
#include <demangle.h>

/* A v0 name nests paths in types in paths...: real ones stay below 20. */
#define V0_MAX_DEPTH 64
/* Backrefs let a short name ask for exponential output; every parse step
 * counts against this, whether it prints or not. */
#define V0_MAX_STEPS 65536
#define PUNY_MAX_CODEPOINTS 256

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static int hex_val(char c)
{
	return is_digit(c) ? c - '0' : c - 'a' + 10;
}

/* ---- output ---- */

struct out {
	char *buf;
	size_t cap;
	size_t n;
	unsigned int quiet; /* > 0: parse without printing */
	int err;
};

static void out__put(struct out *o, const char *s, size_t len)
{
	if (o->err || o->quiet)
		return;
	if (len >= o->cap - o->n) {
		o->err = -E2BIG;
		return;
	}
	memcpy(o->buf + o->n, s, len);
	o->n += len;
	o->buf[o->n] = '\0';
}

static void out__str(struct out *o, const char *s)
{
	out__put(o, s, strlen(s));
}

static void out__u64(struct out *o, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out__put(o, tmp + i, sizeof(tmp) - i);
}

static void out__utf8(struct out *o, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	out__put(o, b, n);
}

static int out__finish(struct out *o)
{
	if (o->err) {
		if (o->cap)
			o->buf[0] = '\0';
		return o->err;
	}
	return (int)o->n;
}

/* ---- Rust legacy: _ZN <len><ident>... 17h<16 hex> E ---- */

static bool legacy_is_hash(const char *s, size_t len)
{
	size_t i;

	if (len != 17 || s[0] != 'h')
		return false;
	for (i = 1; i < len; i++)
		if (!is_hex(s[i]))
			return false;
	return true;
}

/* One path element, $-escapes and ".." undone. */
static int legacy_element(struct out *o, const char *s, size_t len)
{
	static const struct {
		const char *code;
		const char *text;
	} esc[] = {
		{ "SP", "@" }, { "BP", "*" }, { "RF", "&" }, { "LT", "<" },
		{ "GT", ">" }, { "LP", "(" }, { "RP", ")" }, { "C", "," },
	};
	const char *end = s + len, *close;
	uint32_t cp;
	size_t i, k;

	if (len >= 2 && s[0] == '_' && s[1] == '$') {
		s++;
		len--;
	}
	while (s < end) {
		if (*s == '.') {
			if (s + 1 < end && s[1] == '.') {
				out__str(o, "::");
				s += 2;
			} else {
				out__str(o, ".");
				s++;
			}
			continue;
		}
		if (*s != '$') {
			for (i = 0; s + i < end && s[i] != '$' && s[i] != '.';
			     i++)
				;
			out__put(o, s, i);
			s += i;
			continue;
		}
		close = memchr(s + 1, '$', end - s - 1);
		if (!close)
			return -EINVAL;
		k = close - s - 1;
		for (i = 0; i < sizeof(esc) / sizeof(esc[0]); i++)
			if (strlen(esc[i].code) == k &&
			    !memcmp(s + 1, esc[i].code, k))
				break;
		if (i < sizeof(esc) / sizeof(esc[0])) {
			out__str(o, esc[i].text);
		} else if (k >= 2 && k <= 7 && s[1] == 'u') {
			for (cp = 0, i = 2; i <= k; i++) {
				if (!is_hex(s[i]))
					return -EINVAL;
				cp = cp << 4 | (uint32_t)hex_val(s[i]);
			}
			if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
				return -EINVAL;
			out__utf8(o, cp);
		} else {
			return -EINVAL;
		}
		s = close + 1;
	}
	return 0;
}

int demangle__rust_legacy(const char *name, char *buf, size_t cap)
{
	struct out o = { .buf = buf, .cap = cap };
	const char *p, *elems[256];
	size_t lens[256], n = 0, len, i;
	int err;

	if (!cap)
		return -E2BIG;
	buf[0] = '\0';
	if (strncmp(name, "_ZN", 3) != 0)
		return -EINVAL;
	p = name + 3;
	while (*p != 'E') {
		if (!is_digit(*p) || (*p == '0'))
			return -EINVAL;
		for (len = 0; is_digit(*p); p++) {
			len = len * 10 + (size_t)(*p - '0');
			if (len > DEMANGLE_MAX_INPUT)
				return -EINVAL;
		}
		if (strnlen(p, len) < len ||
		    n == sizeof(elems) / sizeof(*elems))
			return -EINVAL;
		for (i = 0; i < len; i++)
			if ((unsigned char)p[i] >= 0x80)
				return -EINVAL;
		elems[n] = p;
		lens[n++] = len;
		p += len;
	}
	/* Only "…17h<hash>E", optionally with a ".suffix", is Rust. */
	if (n < 2 || !legacy_is_hash(elems[n - 1], lens[n - 1]) ||
	    (p[1] != '\0' && p[1] != '.'))
		return -EINVAL;
	for (i = 0; i + 1 < n; i++) {
		if (i)
			out__str(&o, "::");
		err = legacy_element(&o, elems[i], lens[i]);
		if (err)
			return err;
	}
	return out__finish(&o);
}

/* ---- Rust v0: _R <path> [<instantiating-crate>] ---- */

struct v0 {
	const char *s; /* after "_R" */
	size_t len; /* up to the vendor suffix */
	size_t pos;
	unsigned int depth;
	unsigned int steps;
	struct out o;
};

static int v0__fail(struct v0 *p, int err)
{
	if (!p->o.err)
		p->o.err = err;
	return p->o.err;
}

static char v0__peek(const struct v0 *p)
{
	return p->pos < p->len ? p->s[p->pos] : '\0';
}

static bool v0__eat(struct v0 *p, char c)
{
	if (v0__peek(p) != c)
		return false;
	p->pos++;
	return true;
}

static char v0__next(struct v0 *p)
{
	return p->pos < p->len ? p->s[p->pos++] : '\0';
}

/* Counts one step into a nested construct; -errno when a bound is hit. */
static int v0__enter(struct v0 *p)
{
	if (p->o.err)
		return p->o.err;
	if (++p->steps > V0_MAX_STEPS || ++p->depth > V0_MAX_DEPTH)
		return v0__fail(p, -E2BIG);
	return 0;
}

static int v0__leave(struct v0 *p, int err)
{
	p->depth--;
	return err ? err : p->o.err;
}

/* base-62-number: "_" is 0, else digits then "_", value + 1. */
static int v0__base62(struct v0 *p, uint64_t *ret)
{
	uint64_t v = 0;
	char c;
	int d;

	if (v0__eat(p, '_')) {
		*ret = 0;
		return 0;
	}
	for (;;) {
		c = v0__next(p);
		if (c == '_')
			break;
		if (is_digit(c))
			d = c - '0';
		else if (is_lower(c))
			d = c - 'a' + 10;
		else if (is_upper(c))
			d = c - 'A' + 36;
		else
			return v0__fail(p, -EINVAL);
		if (v > (UINT64_MAX - (uint64_t)d) / 62)
			return v0__fail(p, -EINVAL);
		v = v * 62 + (uint64_t)d;
	}
	if (v == UINT64_MAX)
		return v0__fail(p, -EINVAL);
	*ret = v + 1;
	return 0;
}

static int v0__opt_base62(struct v0 *p, char tag, uint64_t *ret)
{
	*ret = 0;
	if (!v0__eat(p, tag))
		return 0;
	if (v0__base62(p, ret))
		return p->o.err;
	(*ret)++;
	return 0;
}

static int v0__decimal(struct v0 *p, size_t *ret)
{
	size_t v = 0;

	if (!is_digit(v0__peek(p)))
		return v0__fail(p, -EINVAL);
	if (v0__eat(p, '0')) {
		*ret = 0;
		return 0;
	}
	while (is_digit(v0__peek(p))) {
		v = v * 10 + (size_t)(v0__next(p) - '0');
		if (v > p->len)
			return v0__fail(p, -EINVAL);
	}
	*ret = v;
	return 0;
}

struct v0_ident {
	const char *s;
	size_t len;
	bool punycode;
};

static int v0__undisambiguated_ident(struct v0 *p, struct v0_ident *id)
{
	size_t len = 0; /* set when v0__decimal() succeeds; -O2 with the
			   sanitizers cannot tell */

	id->punycode = v0__eat(p, 'u');
	if (v0__decimal(p, &len))
		return p->o.err;
	(void)v0__eat(p, '_');
	if (len > p->len - p->pos)
		return v0__fail(p, -EINVAL);
	id->s = p->s + p->pos;
	id->len = len;
	p->pos += len;
	return 0;
}

static int v0__ident(struct v0 *p, uint64_t *ret_dis, struct v0_ident *id)
{
	if (v0__opt_base62(p, 's', ret_dis))
		return p->o.err;
	return v0__undisambiguated_ident(p, id);
}

static uint32_t puny_adapt(uint32_t delta, uint32_t npoints, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + (36 * delta) / (delta + 38);
}

/* RFC 3492 with '_' as the delimiter, as Rust encodes identifiers. */
static int v0__print_punycode(struct v0 *p, const struct v0_ident *id)
{
	uint32_t cps[PUNY_MAX_CODEPOINTS], n = 128, bias = 72, i = 0;
	uint32_t len = 0, org, w, k, t, digit;
	size_t basic = 0, pos, j;
	char c;

	for (j = 0; j < id->len; j++)
		if (id->s[j] == '_')
			basic = j + 1;
	if (basic > PUNY_MAX_CODEPOINTS)
		return v0__fail(p, -E2BIG);
	for (j = 0; j + 1 < basic; j++)
		cps[len++] = (unsigned char)id->s[j];
	pos = basic;
	while (pos < id->len) {
		org = i;
		for (w = 1, k = 36;; k += 36) {
			if (pos >= id->len)
				return v0__fail(p, -EINVAL);
			c = id->s[pos++];
			if (is_lower(c))
				digit = (uint32_t)(c - 'a');
			else if (is_digit(c))
				digit = (uint32_t)(c - '0') + 26;
			else
				return v0__fail(p, -EINVAL);
			if (digit > (UINT32_MAX - i) / w)
				return v0__fail(p, -EINVAL);
			i += digit * w;
			t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
			if (digit < t)
				break;
			if (w > UINT32_MAX / (36 - t))
				return v0__fail(p, -EINVAL);
			w *= 36 - t;
		}
		if (len == PUNY_MAX_CODEPOINTS)
			return v0__fail(p, -E2BIG);
		bias = puny_adapt(i - org, len + 1, org == 0);
		if (i / (len + 1) > 0x10ffff - n)
			return v0__fail(p, -EINVAL);
		n += i / (len + 1);
		i %= len + 1;
		if (n > 0x10ffff || (n >= 0xd800 && n < 0xe000))
			return v0__fail(p, -EINVAL);
		memmove(cps + i + 1, cps + i, (len - i) * sizeof(*cps));
		cps[i++] = n;
		len++;
	}
	for (j = 0; j < len; j++)
		out__utf8(&p->o, cps[j]);
	return p->o.err;
}

static void v0__print_ident(struct v0 *p, const struct v0_ident *id)
{
	if (id->punycode)
		v0__print_punycode(p, id);
	else
		out__put(&p->o, id->s, id->len);
}

static int v0__path(struct v0 *p, bool in_value);
static int v0__type(struct v0 *p);
static int v0__const(struct v0 *p);

/* Runs @fn at the position a backref names: strictly before the 'B'. */
static int v0__backref(struct v0 *p, int (*fn)(struct v0 *, bool), bool arg)
{
	size_t start = p->pos - 1, saved;
	uint64_t target;
	int err;

	if (v0__base62(p, &target))
		return p->o.err;
	if (target >= start)
		return v0__fail(p, -EINVAL);
	saved = p->pos;
	p->pos = (size_t)target;
	err = fn(p, arg);
	p->pos = saved;
	return err;
}

static int v0__type_arg(struct v0 *p, bool unused)
{
	(void)unused;
	return v0__type(p);
}

static int v0__const_arg(struct v0 *p, bool unused)
{
	(void)unused;
	return v0__const(p);
}

static void v0__lifetime(struct v0 *p, uint64_t lt, bool space)
{
	if (!lt)
		return;
	out__str(&p->o, "'_");
	if (space)
		out__str(&p->o, " ");
}

static int v0__generic_arg(struct v0 *p)
{
	uint64_t lt;

	if (v0__eat(p, 'L')) {
		if (v0__base62(p, &lt))
			return p->o.err;
		out__str(&p->o, "'_");
		return 0;
	}
	if (v0__eat(p, 'K'))
		return v0__const(p);
	return v0__type(p);
}

static const char *v0_basic_type(char c)
{
	switch (c) {
	case 'a':
		return "i8";
	case 'b':
		return "bool";
	case 'c':
		return "char";
	case 'd':
		return "f64";
	case 'e':
		return "str";
	case 'f':
		return "f32";
	case 'h':
		return "u8";
	case 'i':
		return "isize";
	case 'j':
		return "usize";
	case 'l':
		return "i32";
	case 'm':
		return "u32";
	case 'n':
		return "i128";
	case 'o':
		return "u128";
	case 's':
		return "i16";
	case 't':
		return "u16";
	case 'u':
		return "()";
	case 'v':
		return "...";
	case 'x':
		return "i64";
	case 'y':
		return "u64";
	case 'z':
		return "!";
	case 'p':
		return "_";
	default:
		return NULL;
	}
}

static int v0__fn_sig(struct v0 *p)
{
	struct v0_ident abi;
	uint64_t binder;
	size_t i, n = 0;

	if (v0__opt_base62(p, 'G', &binder))
		return p->o.err;
	if (v0__eat(p, 'U'))
		out__str(&p->o, "unsafe ");
	if (v0__eat(p, 'K')) {
		out__str(&p->o, "extern \"");
		if (v0__eat(p, 'C')) {
			out__str(&p->o, "C");
		} else {
			if (v0__undisambiguated_ident(p, &abi))
				return p->o.err;
			for (i = 0; i < abi.len; i++)
				out__put(&p->o,
					 abi.s[i] == '_' ? "-" : abi.s + i, 1);
		}
		out__str(&p->o, "\" ");
	}
	out__str(&p->o, "fn(");
	while (!p->o.err && !v0__eat(p, 'E')) {
		if (n++)
			out__str(&p->o, ", ");
		if (v0__type(p))
			return p->o.err;
	}
	out__str(&p->o, ")");
	if (v0__eat(p, 'u'))
		return p->o.err;
	out__str(&p->o, " -> ");
	return v0__type(p);
}

/* A dyn trait's path, leaving its generic list open for the associated
 * type bindings that follow: Fn<(), Output = ()>. */
static int v0__path_open_generics(struct v0 *p, bool *open)
{
	size_t saved, n;
	uint64_t target;
	int err = v0__enter(p);

	*open = false;
	if (err)
		return err;
	if (v0__eat(p, 'B')) {
		saved = p->pos;
		if (!v0__base62(p, &target)) {
			if (target >= saved - 1) {
				err = v0__fail(p, -EINVAL);
			} else {
				saved = p->pos;
				p->pos = (size_t)target;
				err = v0__path_open_generics(p, open);
				p->pos = saved;
			}
		}
	} else if (v0__eat(p, 'I')) {
		err = v0__path(p, false);
		out__str(&p->o, "<");
		for (n = 0; !err && !v0__eat(p, 'E'); n++) {
			if (n)
				out__str(&p->o, ", ");
			err = v0__generic_arg(p);
		}
		*open = true;
	} else {
		err = v0__path(p, false);
	}
	return v0__leave(p, err);
}

static int v0__dyn_bounds(struct v0 *p)
{
	struct v0_ident name;
	uint64_t binder;
	size_t n = 0, nb;
	bool open;

	if (v0__opt_base62(p, 'G', &binder))
		return p->o.err;
	out__str(&p->o, "dyn ");
	while (!p->o.err && !v0__eat(p, 'E')) {
		if (n++)
			out__str(&p->o, " + ");
		if (v0__path_open_generics(p, &open))
			return p->o.err;
		for (nb = 0; v0__eat(p, 'p'); nb++) {
			out__str(&p->o, open ? ", " : "<");
			open = true;
			if (v0__undisambiguated_ident(p, &name))
				return p->o.err;
			v0__print_ident(p, &name);
			out__str(&p->o, " = ");
			if (v0__type(p))
				return p->o.err;
		}
		if (open)
			out__str(&p->o, ">");
	}
	return p->o.err;
}

static int v0__type(struct v0 *p)
{
	const char *basic;
	uint64_t lt;
	size_t n;
	char c;
	int err = v0__enter(p);

	if (err)
		return err;
	c = v0__peek(p);
	basic = v0_basic_type(c);
	if (basic) {
		p->pos++;
		out__str(&p->o, basic);
		return v0__leave(p, 0);
	}
	switch (c) {
	case 'A':
	case 'S':
		p->pos++;
		out__str(&p->o, "[");
		err = v0__type(p);
		if (!err && c == 'A') {
			out__str(&p->o, "; ");
			err = v0__const(p);
		}
		out__str(&p->o, "]");
		break;
	case 'T':
		p->pos++;
		out__str(&p->o, "(");
		for (n = 0; !err && !v0__eat(p, 'E'); n++) {
			if (n)
				out__str(&p->o, ", ");
			err = v0__type(p);
		}
		out__str(&p->o, n == 1 ? ",)" : ")");
		break;
	case 'R':
	case 'Q':
		p->pos++;
		out__str(&p->o, c == 'R' ? "&" : "&mut ");
		err = v0__opt_base62(p, 'L', &lt);
		if (!err) {
			v0__lifetime(p, lt, true);
			err = v0__type(p);
		}
		break;
	case 'P':
	case 'O':
		p->pos++;
		out__str(&p->o, c == 'P' ? "*const " : "*mut ");
		err = v0__type(p);
		break;
	case 'F':
		p->pos++;
		err = v0__fn_sig(p);
		break;
	case 'D':
		p->pos++;
		err = v0__dyn_bounds(p);
		if (!err && !v0__eat(p, 'L'))
			err = v0__fail(p, -EINVAL);
		if (!err)
			err = v0__base62(p, &lt);
		break;
	case 'B':
		p->pos++;
		err = v0__backref(p, v0__type_arg, false);
		break;
	default:
		err = v0__path(p, false);
		break;
	}
	return v0__leave(p, err);
}

static int v0__const_data(struct v0 *p, char type)
{
	bool neg = v0__eat(p, 'n');
	size_t start = p->pos, digits, i;
	uint64_t v = 0;
	char c;

	while (is_hex(v0__peek(p)))
		p->pos++;
	digits = p->pos - start;
	if (!v0__eat(p, '_'))
		return v0__fail(p, -EINVAL);
	if (digits > 16) {
		out__str(&p->o, "0x");
		out__put(&p->o, p->s + start, digits);
		return p->o.err;
	}
	for (i = 0; i < digits; i++)
		v = v << 4 | (uint64_t)hex_val(p->s[start + i]);
	if (type == 'b') {
		if (neg || v > 1)
			return v0__fail(p, -EINVAL);
		out__str(&p->o, v ? "true" : "false");
	} else if (type == 'c') {
		if (neg || v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
			return v0__fail(p, -EINVAL);
		out__str(&p->o, "'");
		c = (char)v;
		if (v >= 0x20 && v < 0x7f && c != '\'' && c != '\\')
			out__put(&p->o, &c, 1);
		else
			out__utf8(&p->o, (uint32_t)v);
		out__str(&p->o, "'");
	} else {
		if (neg)
			out__str(&p->o, "-");
		out__u64(&p->o, v);
	}
	return p->o.err;
}

static int v0__const(struct v0 *p)
{
	char c;
	int err = v0__enter(p);

	if (err)
		return err;
	c = v0__next(p);
	if (c == 'p') {
		out__str(&p->o, "_");
	} else if (c == 'B') {
		err = v0__backref(p, v0__const_arg, false);
	} else if (strchr("abcdefhijlmnostxy", c) && c) {
		err = v0__const_data(p, c);
	} else {
		/* Structured constants (arrays, tuples, ADTs) are rare: not
		 * decoded, so the name stays mangled. */
		err = v0__fail(p, -EINVAL);
	}
	return v0__leave(p, err);
}

static int v0__path_backref(struct v0 *p, bool in_value)
{
	return v0__path(p, in_value);
}

/* impl-path: [disambiguator] path, parsed but not shown. */
static int v0__impl_path(struct v0 *p)
{
	uint64_t dis;
	int err;

	if (v0__opt_base62(p, 's', &dis))
		return p->o.err;
	p->o.quiet++;
	err = v0__path(p, false);
	p->o.quiet--;
	return err;
}

static int v0__path(struct v0 *p, bool in_value)
{
	struct v0_ident id;
	uint64_t dis;
	size_t n;
	char c, ns;
	int err = v0__enter(p);

	if (err)
		return err;
	c = v0__next(p);
	switch (c) {
	case 'C':
		err = v0__ident(p, &dis, &id);
		if (!err)
			v0__print_ident(p, &id);
		break;
	case 'N':
		ns = v0__next(p);
		if (!is_lower(ns) && !is_upper(ns)) {
			err = v0__fail(p, -EINVAL);
			break;
		}
		err = v0__path(p, in_value);
		if (!err)
			err = v0__ident(p, &dis, &id);
		if (err)
			break;
		if (is_upper(ns)) {
			out__str(&p->o, "::{");
			if (ns == 'C')
				out__str(&p->o, "closure");
			else if (ns == 'S')
				out__str(&p->o, "shim");
			else
				out__put(&p->o, &ns, 1);
			if (id.len) {
				out__str(&p->o, ":");
				v0__print_ident(p, &id);
			}
			out__str(&p->o, "#");
			out__u64(&p->o, dis);
			out__str(&p->o, "}");
		} else if (id.len) {
			out__str(&p->o, "::");
			v0__print_ident(p, &id);
		}
		break;
	case 'M':
	case 'X':
	case 'Y':
		if (c != 'Y')
			err = v0__impl_path(p);
		if (err)
			break;
		out__str(&p->o, "<");
		err = v0__type(p);
		if (!err && c != 'M') {
			out__str(&p->o, " as ");
			err = v0__path(p, false);
		}
		out__str(&p->o, ">");
		break;
	case 'I':
		err = v0__path(p, in_value);
		if (err)
			break;
		out__str(&p->o, in_value ? "::<" : "<");
		for (n = 0; !err && !v0__eat(p, 'E'); n++) {
			if (n)
				out__str(&p->o, ", ");
			err = v0__generic_arg(p);
		}
		out__str(&p->o, ">");
		break;
	case 'B':
		err = v0__backref(p, v0__path_backref, in_value);
		break;
	default:
		err = v0__fail(p, -EINVAL);
		break;
	}
	return v0__leave(p, err);
}

int demangle__rust_v0(const char *name, char *buf, size_t cap)
{
	struct v0 p = { .o = { .buf = buf, .cap = cap } };
	size_t len;

	if (!cap)
		return -E2BIG;
	buf[0] = '\0';
	if (strncmp(name, "_R", 2) != 0)
		return -EINVAL;
	len = strlen(name);
	if (len > DEMANGLE_MAX_INPUT)
		return -E2BIG;
	p.s = name + 2;
	/* v0 names are [A-Za-z0-9_]; a '.' or '$' starts a vendor suffix. */
	p.len = strspn(p.s, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
	if (p.s[p.len] && p.s[p.len] != '.' && p.s[p.len] != '$')
		return -EINVAL;
	/* An encoding version would come first: none is defined yet. */
	if (is_digit(v0__peek(&p)) || !is_upper(v0__peek(&p)))
		return -EINVAL;
	if (v0__path(&p, true))
		return out__finish(&p.o);
	if (p.pos < p.len) {
		/* The instantiating crate: not part of the name. */
		p.o.quiet++;
		v0__path(&p, false);
		p.o.quiet--;
	}
	if (!p.o.err && p.pos != p.len)
		v0__fail(&p, -EINVAL);
	return out__finish(&p.o);
}

/* ---- all schemes ---- */

enum demangle_lang demangle__lang(const char *name)
{
	const char *p;
	size_t len;

	if (!name)
		return DEMANGLE_NONE;
	if (name[0] == '_' && name[1] == 'R' && is_upper(name[2]))
		return DEMANGLE_RUST_V0;
	if (name[0] != '_' || name[1] != 'Z')
		return DEMANGLE_NONE;
	/* Legacy Rust is a valid C++ name whose last element is a hash. */
	p = strstr(name, "17h");
	while (p) {
		for (len = 3; len < 19 && is_hex(p[len]); len++)
			;
		if (len == 19 && p[19] == 'E' && (!p[20] || p[20] == '.'))
			return DEMANGLE_RUST_LEGACY;
		p = strstr(p + 1, "17h");
	}
	return DEMANGLE_CPP;
}

static char *demangle__cpp(const char *name)
{
	char *out;

	errno = 0;
	out = cplus_demangle_v3(name, DMGL_PARAMS | DMGL_ANSI);
	if (!out) {
		/* It says nothing more than NULL: out of memory shows in
		 * errno, a name it cannot read does not. */
		errno = errno == ENOMEM ? ENOMEM : EINVAL;
		return NULL;
	}
	if (strlen(out) > DEMANGLE_MAX_OUTPUT) {
		free(out);
		errno = E2BIG;
		return NULL;
	}
	return out;
}

char *demangle__name(const char *name)
{
	enum demangle_lang lang = demangle__lang(name);
	char *buf, *trimmed = NULL;
	const char *llvm;
	int n;

	if (lang == DEMANGLE_NONE) {
		errno = EINVAL;
		return NULL;
	}
	if (strnlen(name, DEMANGLE_MAX_INPUT + 1) > DEMANGLE_MAX_INPUT) {
		errno = E2BIG;
		return NULL;
	}
	if (lang == DEMANGLE_CPP)
		return demangle__cpp(name);
	/* LTO appends ".llvm.<digits>" to Rust's local symbols. */
	llvm = strstr(name, ".llvm.");
	if (llvm) {
		trimmed = strndup(name, (size_t)(llvm - name));
		if (!trimmed)
			return NULL;
		name = trimmed;
	}
	buf = malloc(DEMANGLE_MAX_OUTPUT + 1);
	if (!buf) {
		free(trimmed);
		errno = ENOMEM;
		return NULL;
	}
	if (lang == DEMANGLE_RUST_V0)
		n = demangle__rust_v0(name, buf, DEMANGLE_MAX_OUTPUT + 1);
	else
		n = demangle__rust_legacy(name, buf, DEMANGLE_MAX_OUTPUT + 1);
	if (n < 0 && lang == DEMANGLE_RUST_LEGACY) {
		/* Looked like Rust but is not: perhaps plain C++. */
		free(buf);
		buf = demangle__cpp(name);
		free(trimmed);
		return buf;
	}
	free(trimmed);
	if (n <= 0) {
		free(buf);
		errno = n < 0 ? -n : EINVAL;
		return NULL;
	}
	trimmed = realloc(buf, (size_t)n + 1);
	return trimmed ? trimmed : buf;
}
