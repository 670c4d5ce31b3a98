// SPDX-License-Identifier: Apache-2.0
/* The flame graph `tgprof record` writes (flamegraph.svg) from the folded
 * stacks: well-formed, escaped, geometrically sound, deterministic, and
 * carrying its zoom and search script. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exporter/flamegraph.h"

#define XML_MAX_DEPTH 64

static bool xml_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == ':' ||
	       c == '.';
}

/* The entities an SVG can hold without a DTD: the five predefined ones and
 * character references. Returns the length of the entity at @s, or 0. */
static size_t xml_entity(const char *s)
{
	static const char *const named[] = { "&amp;", "&lt;", "&gt;", "&quot;",
					     "&apos;" };
	size_t i, start, n;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (!strncmp(s, named[i], strlen(named[i])))
			return strlen(named[i]);
	if (strncmp(s, "&#", 2))
		return 0;
	start = n = s[2] == 'x' ? 3 : 2;
	while (start == 3 ? isxdigit((unsigned char)s[n]) :
			    isdigit((unsigned char)s[n]))
		n++;
	return n > start && s[n] == ';' ? n + 1 : 0;
}

/*
 * A small well-formedness check, enough to catch what a flame graph writer
 * can get wrong: every <x> closed by </x> or written <x/>, one root, quoted
 * attributes, no raw '<' in text or values, every '&' an entity, CDATA,
 * comments and the declaration terminated. NULL when fine, else what broke.
 */
static const char *xml_check(const char *s)
{
	char stack[XML_MAX_DEPTH][64];
	size_t depth = 0, len, e;
	int roots = 0;
	const char *end, *name;
	char quote;

	while (*s) {
		if (*s == '&') {
			e = xml_entity(s);
			if (!e)
				return "raw & in text";
			s += e;
			continue;
		}
		if (*s != '<') {
			if (!strncmp(s, "]]>", 3))
				return "]]> in text";
			if (!depth && !isspace((unsigned char)*s))
				return "text outside the root element";
			s++;
			continue;
		}
		if (!strncmp(s, "<?", 2)) {
			end = strstr(s, "?>");
			if (!end)
				return "unterminated <?";
			s = end + 2;
		} else if (!strncmp(s, "<!--", 4)) {
			end = strstr(s + 4, "--");
			if (!end || end[2] != '>')
				return "bad comment";
			s = end + 3;
		} else if (!strncmp(s, "<![CDATA[", 9)) {
			if (!depth)
				return "CDATA outside an element";
			end = strstr(s, "]]>");
			if (!end)
				return "unterminated CDATA";
			s = end + 3;
		} else if (s[1] == '!') {
			return "unexpected declaration";
		} else if (s[1] == '/') {
			name = s + 2;
			for (len = 0; xml_name_char(name[len]); len++)
				;
			if (!depth || strlen(stack[depth - 1]) != len ||
			    strncmp(stack[depth - 1], name, len))
				return "mismatched end tag";
			s = name + len;
			while (isspace((unsigned char)*s))
				s++;
			if (*s != '>')
				return "bad end tag";
			s++;
			depth--;
		} else {
			name = s + 1;
			if (!isalpha((unsigned char)*name) && *name != '_')
				return "raw < in text";
			for (len = 0; xml_name_char(name[len]); len++)
				;
			if (len >= sizeof(stack[0]))
				return "tag name too long";
			if (!depth && roots++)
				return "more than one root element";
			s = name + len;
			for (;;) {
				while (isspace((unsigned char)*s))
					s++;
				if (*s == '>' || !strncmp(s, "/>", 2))
					break;
				if (!xml_name_char(*s))
					return "bad attribute name";
				while (xml_name_char(*s))
					s++;
				if (*s++ != '=')
					return "attribute without =";
				quote = *s++;
				if (quote != '"' && quote != '\'')
					return "unquoted attribute";
				for (; *s && *s != quote; s++) {
					if (*s == '<')
						return "raw < in attribute";
					if (*s == '&' && !xml_entity(s))
						return "raw & in attribute";
				}
				if (!*s++)
					return "unterminated attribute";
			}
			if (*s == '>') {
				if (depth == XML_MAX_DEPTH)
					return "too deep";
				memcpy(stack[depth], name, len);
				stack[depth++][len] = '\0';
				s++;
			} else {
				s += 2;
			}
		}
	}
	if (depth)
		return "unclosed element";
	if (!roots)
		return "no root element";
	return NULL;
}

static void assert_well_formed(const char *svg)
{
	const char *why = xml_check(svg);

	cr_assert_null(why, "not well-formed XML: %s", why);
}

static struct folded *folded_of(const char *const *stacks,
				const uint64_t *counts, size_t n)
{
	struct folded *f = folded__new(0);
	size_t i;

	cr_assert_not_null(f);
	for (i = 0; i < n; i++)
		cr_assert_eq(folded__add(f, stacks[i], counts[i]), 0);
	return f;
}

/* The SVG for @f; caller frees. */
static char *render(const struct folded *f, const struct flamegraph_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	cr_assert_not_null(m);
	cr_assert_eq(flamegraph__write(f, o, m), 0);
	fclose(m);
	cr_assert_not_null(buf);
	return buf;
}

static size_t count_of(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* The profile of a small web server host, as add_sample would fold it. */
static struct folded *realistic_profile(void)
{
	static const char *const stacks[] = {
		"nginx;_start;__libc_start_main;main;ngx_master_process_cycle;"
		"ngx_worker_process_cycle;ngx_process_events_and_timers;"
		"epoll_wait;entry_SYSCALL_64_[k];do_syscall_64_[k];"
		"__x64_sys_epoll_wait_[k];do_epoll_wait_[k]",
		"nginx;_start;__libc_start_main;main;ngx_master_process_cycle;"
		"ngx_worker_process_cycle;ngx_process_events_and_timers;"
		"ngx_http_process_request;ngx_http_static_handler;sendfile64;"
		"entry_SYSCALL_64_[k];do_syscall_64_[k];do_sendfile_[k]",
		"nginx;_start;__libc_start_main;main;ngx_master_process_cycle;"
		"ngx_worker_process_cycle;ngx_process_events_and_timers;"
		"ngx_http_process_request;ngx_http_parse_request_line",
		"postgres;_start;__libc_start_main;main;PostmasterMain;"
		"PostgresMain;exec_simple_query;ExecSeqScan;heapgettup",
		"python3;_start;Py_RunMain;_PyEval_EvalFrameDefault;"
		"[libpython3.11.so.1.0];[unknown]",
		"app <v2> & \"co\";main;std::vector<int, "
		"std::allocator<int> >::push_back(int const&)",
		"swapper/0;secondary_startup_64_[k];do_idle_[k];"
		"default_idle_[k]",
		"kworker/1:2;ret_from_fork_[k];kthread_[k];worker_thread_[k]",
	};
	static const uint64_t counts[] = { 120, 340, 55, 410, 90, 7, 600, 3 };

	return folded_of(stacks, counts, sizeof(counts) / sizeof(counts[0]));
}

struct frame_box {
	double x;
	double w;
	unsigned int y;
	unsigned long long n;
};

/* The frames drawn, in document order; returns how many. */
static size_t frame_boxes(const char *svg, struct frame_box *v, size_t max)
{
	const char *g = svg, *r;
	size_t n = 0;

	while ((g = strstr(g, "<g data-o=\"")) && n < max) {
		cr_assert_eq(sscanf(g, "<g data-o=\"%*u\" data-n=\"%llu\"",
				    &v[n].n),
			     1);
		r = strstr(g, "<rect ");
		cr_assert_not_null(r);
		cr_assert_eq(sscanf(r, "<rect x=\"%lf\" y=\"%u\" width=\"%lf\"",
				    &v[n].x, &v[n].y, &v[n].w),
			     3);
		n++;
		g = r;
	}
	return n;
}

Test(flamegraph, checker_rejects_broken_xml)
{
	cr_assert_null(xml_check("<?xml version=\"1.0\"?>\n<a x=\"1\">"
				 "<b/>t &amp; &#38; &#x26;<![CDATA[<&]]></a>"));
	cr_assert_not_null(xml_check("<a><b></a></b>"));
	cr_assert_not_null(xml_check("<a>x & y</a>"));
	cr_assert_not_null(xml_check("<a>x < y</a>"));
	cr_assert_not_null(xml_check("<a t=\"<\"/>"));
	cr_assert_not_null(xml_check("<a t=\"&\"/>"));
	cr_assert_not_null(xml_check("<a t=x/>"));
	cr_assert_not_null(xml_check("<a>"));
	cr_assert_not_null(xml_check("<a/><b/>"));
	cr_assert_not_null(xml_check("<a><![CDATA[x</a>"));
}

Test(flamegraph, output_is_well_formed_xml)
{
	struct folded *f = realistic_profile();
	char *svg = render(f, NULL);

	cr_assert(!strncmp(svg, "<?xml ", 6));
	cr_assert_not_null(strstr(svg, "<svg "));
	assert_well_formed(svg);
	free(svg);
	folded__free(f);
}

Test(flamegraph, realistic_profile_parses_as_xml)
{
	struct flamegraph_opts o = { .sz = sizeof(o),
				     .subtitle = "host <db-1> & \"friends\"" };
	char path[] = "/tmp/tgprof-flamegraph-XXXXXX";
	char cmd[256];
	struct folded *f = realistic_profile();
	FILE *out;
	int fd;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	out = fdopen(fd, "w");
	cr_assert_not_null(out);
	cr_assert_eq(flamegraph__write(f, &o, out), 0);
	cr_assert_eq(fclose(out), 0);

	if (system("command -v python3 >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd),
			 "python3 -c 'import sys,xml.dom.minidom as m; "
			 "m.parse(sys.argv[1])' %s",
			 path);
		cr_assert_eq(system(cmd), 0, "python3 rejects %s", path);
	} else {
		cr_log_warn("python3 not found: only the built-in check ran");
	}
	unlink(path);
	folded__free(f);
}

Test(flamegraph, names_with_markup_characters_are_escaped)
{
	const char *stacks[] = { "a<b>&\"c'd;f<T>(x&y) \"q\"" };
	const uint64_t counts[] = { 3 };
	struct flamegraph_opts o = { .sz = sizeof(o),
				     .title = "CPU <&> \"'",
				     .count_name = "ticks<>" };
	struct folded *f = folded_of(stacks, counts, 1);
	char *svg = render(f, &o);

	assert_well_formed(svg);
	cr_assert_not_null(strstr(svg,
				  "<title>a&lt;b&gt;&amp;&quot;c&apos;d (3 "
				  "ticks&lt;&gt;, 100.00%)</title>"));
	cr_assert_not_null(strstr(svg, "f&lt;T&gt;(x&amp;y) &quot;q&quot;"));
	cr_assert_not_null(
		strstr(svg, ">CPU &lt;&amp;&gt; &quot;&apos;</text>"));
	cr_assert_null(strstr(svg, "a<b"));
	free(svg);
	folded__free(f);
}

Test(flamegraph, invalid_utf8_and_control_characters_are_replaced)
{
	const char *stacks[] = { "bin\xff\xfe;ok\xc3\xa9;bad\xed\xa0\x80;"
				 "\xe2\x82" };
	const uint64_t counts[] = { 1 };
	struct folded *f = folded_of(stacks, counts, 1);
	struct flamegraph_opts o = { .sz = sizeof(o), .title = "t\x01\x1f" };
	char *svg = render(f, &o);

	assert_well_formed(svg);
	cr_assert_not_null(strstr(svg, "<title>bin?? (1 samples"));
	cr_assert_not_null(strstr(svg, "<title>ok\xc3\xa9 (1 samples"));
	cr_assert_not_null(strstr(svg, "<title>bad??? (1 samples"));
	cr_assert_not_null(strstr(svg, "<title>?? (1 samples"));
	cr_assert_not_null(strstr(svg, ">t?\?</text>"));
	free(svg);
	folded__free(f);
}

Test(flamegraph, child_frames_fit_inside_their_parent)
{
	enum { MAXF = 256 };
	static struct frame_box b[MAXF];
	struct folded *f = realistic_profile();
	char *svg = render(f, NULL);
	size_t n = frame_boxes(svg, b, MAXF), i, j, parents;
	double sum;

	cr_assert_gt(n, 10);
	for (i = 0; i < n; i++) {
		if (b[i].n == folded__total(f) && b[i].w > 1179)
			continue; /* "all", or a frame as wide */
		parents = 0;
		for (j = 0; j < n; j++) {
			if (b[j].y != b[i].y + 16)
				continue;
			if (b[j].x <= b[i].x &&
			    b[i].x + b[i].w <= b[j].x + b[j].w + 1e-9 &&
			    b[i].n <= b[j].n)
				parents++;
		}
		cr_assert_eq(parents, 1, "frame %zu at y=%u has %zu parents", i,
			     b[i].y, parents);
	}
	/* Siblings together are no wider than their parent. */
	for (j = 0; j < n; j++) {
		sum = 0;
		for (i = 0; i < n; i++)
			if (b[i].y + 16 == b[j].y && b[j].x <= b[i].x &&
			    b[i].x + b[i].w <= b[j].x + b[j].w + 1e-9)
				sum += b[i].w;
		cr_assert_leq(sum, b[j].w + 1e-9);
	}
	free(svg);
	folded__free(f);
}

Test(flamegraph, frame_below_min_width_is_omitted_and_parent_keeps_count)
{
	const char *stacks[] = { "app;main;busy", "app;main;rare;deeper" };
	const uint64_t counts[] = { 999, 1 };
	struct flamegraph_opts o = { .sz = sizeof(o), .min_width_px = 2.0 };
	struct folded *f = folded_of(stacks, counts, 2);
	char *svg = render(f, &o);

	assert_well_formed(svg);
	/* 1 of 1000 samples on 1180 px is 1.18 px. */
	cr_assert_null(strstr(svg, "rare"));
	cr_assert_null(strstr(svg, "deeper"));
	cr_assert_not_null(strstr(svg, "<title>main (1000 samples, 100.00%)"));
	cr_assert_not_null(strstr(svg, "<title>busy (999 samples, 99.90%)"));
	cr_assert_not_null(strstr(svg, "2 frames narrower than 2.00 px"));
	free(svg);

	/* With the default minimum of 0.1 px both are drawn. */
	svg = render(f, NULL);
	cr_assert_not_null(strstr(svg, "<title>rare (1 samples, 0.10%)"));
	cr_assert_not_null(strstr(svg, "<title>deeper (1 samples, 0.10%)"));
	cr_assert_null(strstr(svg, "narrower than"));
	free(svg);
	folded__free(f);
}

Test(flamegraph, empty_profile_says_no_samples)
{
	struct folded *f = folded__new(0);
	char *svg = render(f, NULL);

	assert_well_formed(svg);
	cr_assert_not_null(strstr(svg, ">no samples</text>"));
	cr_assert_null(strstr(svg, "<g data-o="));
	free(svg);
	folded__free(f);
}

Test(flamegraph, same_input_gives_identical_bytes)
{
	const char *stacks[] = { "b;x;y", "a;m", "b;x", "a;n;o", "c" };
	const char *reversed[] = { "c", "a;n;o", "b;x", "a;m", "b;x;y" };
	const uint64_t counts[] = { 5, 4, 3, 2, 1 };
	const uint64_t rcounts[] = { 1, 2, 3, 4, 5 };
	struct folded *f = folded_of(stacks, counts, 5);
	struct folded *g = folded_of(reversed, rcounts, 5);
	char *a = render(f, NULL), *b = render(f, NULL), *c = render(g, NULL);

	cr_assert_str_eq(a, b);
	cr_assert_str_eq(a, c);
	free(a);
	free(b);
	free(c);
	folded__free(f);
	folded__free(g);
}

Test(flamegraph, children_are_merged_by_name_and_sorted)
{
	const char *stacks[] = { "p;main;zz", "p;main;aa", "p;main;zz;in",
				 "q;main" };
	const uint64_t counts[] = { 1, 2, 3, 4 };
	struct folded *f = folded_of(stacks, counts, 4);
	char *svg = render(f, NULL);

	cr_assert_eq(count_of(svg, "<title>zz "), 1);
	cr_assert_not_null(strstr(svg, "<title>zz (4 samples, 40.00%)"));
	cr_assert_eq(count_of(svg, "<title>main "), 2);
	cr_assert_lt(strstr(svg, "<title>aa "), strstr(svg, "<title>zz "));
	cr_assert_lt(strstr(svg, "<title>p "), strstr(svg, "<title>q "));
	cr_assert_not_null(strstr(svg, "<title>all (10 samples, 100.00%)"));
	free(svg);
	folded__free(f);
}

Test(flamegraph, frame_is_merged_when_byte_order_interleaves_its_stacks)
{
	/* Byte order puts "p;b!;c" between "p;b" and "p;b;d". */
	const char *stacks[] = { "p;b", "p;b!;c", "p;b;d" };
	const uint64_t counts[] = { 1, 2, 3 };
	struct folded *f = folded_of(stacks, counts, 3);
	char *svg = render(f, NULL);

	cr_assert_eq(count_of(svg, "<title>b "), 1);
	cr_assert_not_null(strstr(svg, "<title>b (4 samples, 66.67%)"));
	cr_assert_not_null(strstr(svg, "<title>b! (2 samples, 33.33%)"));
	cr_assert_not_null(strstr(svg, "<title>d (3 samples, 50.00%)"));
	free(svg);
	folded__free(f);
}

/* The fill of the frame whose title starts with @name and a space. */
static void fill_of(const char *svg, const char *name, unsigned int rgb[3])
{
	char key[128];
	const char *p;

	snprintf(key, sizeof(key), "<title>%s ", name);
	p = strstr(svg, key);
	cr_assert_not_null(p, "no frame %s", name);
	p = strstr(p, "fill=\"rgb(");
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p, "fill=\"rgb(%u,%u,%u)", &rgb[0], &rgb[1],
			    &rgb[2]),
		     3);
}

/* One frame of each type: native, inlined, kernel, jit, cpython and two
 * types without a color of their own. */
static struct folded *typed_profile(void)
{
	static const char *const stacks[] = {
		"proc;user_fn;inl_fn_[i];kernel_fn_[k]",
		"proc;user_fn;fib_[j]",
		"proc;user_fn;run (app.py)_[p]",
		"proc;user_fn;eval (x.php)_[php]",
		"proc;user_fn;each (y.rb)_[ruby]",
	};
	static const uint64_t counts[] = { 5, 4, 3, 2, 1 };

	return folded_of(stacks, counts, 5);
}

/* flamegraph.pl's --color=java palettes: red native code, aqua inlined,
 * orange kernel, green JIT; blue CPython; grey for any other type; violet
 * for the process row. */
Test(flamegraph, each_frame_type_has_its_color)
{
	struct folded *f = typed_profile();
	char *svg = render(f, NULL);
	unsigned int proc[3], native[3], inl[3], kern[3], jit[3], py[3];
	unsigned int php[3], ruby[3];

	assert_well_formed(svg);
	fill_of(svg, "proc", proc);
	fill_of(svg, "user_fn", native);
	fill_of(svg, "inl_fn_[i]", inl);
	fill_of(svg, "kernel_fn_[k]", kern);
	fill_of(svg, "fib_[j]", jit);
	fill_of(svg, "run (app.py)_[p]", py);
	fill_of(svg, "eval (x.php)_[php]", php);
	fill_of(svg, "each (y.rb)_[ruby]", ruby);
	/* Red: red over green and blue, which are equal. */
	cr_assert_gt(native[0], native[1]);
	cr_assert_eq(native[1], native[2]);
	/* Aqua: green and blue equal, over red. */
	cr_assert_eq(inl[1], inl[2]);
	cr_assert_gt(inl[1], inl[0]);
	/* Orange: red over green, no blue. */
	cr_assert_gt(kern[0], kern[1]);
	cr_assert_eq(kern[2], 0);
	/* Green over red and blue, which are equal. */
	cr_assert_gt(jit[1], jit[0]);
	cr_assert_eq(jit[0], jit[2]);
	/* Blue over red and green, which are equal. */
	cr_assert_gt(py[2], py[0]);
	cr_assert_eq(py[0], py[1]);
	/* Grey. */
	cr_assert(php[0] == php[1] && php[1] == php[2]);
	cr_assert(ruby[0] == ruby[1] && ruby[1] == ruby[2]);
	/* The process row is none of these: violet, blue over green. */
	cr_assert_gt(proc[2], proc[1]);
	cr_assert_gt(proc[0], proc[1]);
	free(svg);
	folded__free(f);
}

/* A marked frame's tooltip (and the status line the script fills from
 * it) names its type; the search still sees the name as folded. */
Test(flamegraph, tooltip_names_the_frame_type)
{
	struct folded *f = typed_profile();
	char *svg = render(f, NULL);

	cr_assert_not_null(strstr(
		svg, "<title>kernel_fn_[k] (kernel, 5 samples, 33.33%)"));
	cr_assert_not_null(
		strstr(svg, "<title>run (app.py)_[p] (cpython, 3 samples,"));
	cr_assert_not_null(
		strstr(svg, "<title>eval (x.php)_[php] (php, 2 samples,"));
	cr_assert_not_null(strstr(svg, "<title>fib_[j] (jit, 4 samples,"));
	cr_assert_not_null(strstr(svg, "<title>inl_fn_[i] (inlined, 5 "));
	cr_assert_not_null(strstr(svg, "<title>user_fn (15 samples,"));
	/* The script cuts the name at the last " (". */
	cr_assert_not_null(strstr(svg, "title.lastIndexOf(\" (\")"));
	free(svg);
	folded__free(f);
}

/* The text of the legend, "" when there is none. */
static char *legend_of(const char *svg)
{
	const char *a = strstr(svg, "<g id=\"legend\">"), *b;

	if (!a)
		return strdup("");
	b = strstr(a, "</g>\n</g>");
	cr_assert_not_null(b, "legend not closed");
	return strndup(a, (size_t)(b - a) + 9);
}

/* The legend lists every type drawn, known ones first in a fixed order,
 * each with its palette's color and the mark it has in the folded stacks;
 * clicking an entry searches for its mark. */
Test(flamegraph, legend_lists_each_type_present_with_its_color)
{
	static const char *const order[] = {
		">native</text>",	  ">inlined (_[i])</text>",
		">kernel (_[k])</text>",  ">jit (_[j])</text>",
		">cpython (_[p])</text>", ">php (_[php])</text>",
		">ruby (_[ruby])</text>",
	};
	struct folded *f = typed_profile();
	char *svg = render(f, NULL), *lg = legend_of(svg);
	unsigned int rgb[3];
	const char *p, *prev = lg;
	size_t i;

	assert_well_formed(svg);
	cr_assert_neq(lg[0], '\0', "no legend");
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		p = strstr(lg, order[i]);
		cr_assert_not_null(p, "legend lacks %s", order[i]);
		cr_assert_gt(p, prev, "%s out of order", order[i]);
		prev = p;
	}
	/* The kernel's swatch is orange, CPython's blue. */
	p = strstr(lg, "data-re=\"_\\[k\\]$\"><rect ");
	cr_assert_not_null(p, "%s", lg);
	p = strstr(p, "fill=\"rgb(");
	cr_assert_eq(sscanf(p, "fill=\"rgb(%u,%u,%u)", &rgb[0], &rgb[1],
			    &rgb[2]),
		     3);
	cr_assert(rgb[0] > rgb[1] && rgb[2] == 0);
	p = strstr(lg, "data-re=\"_\\[p\\]$\"><rect ");
	cr_assert_not_null(p);
	p = strstr(p, "fill=\"rgb(");
	cr_assert_eq(sscanf(p, "fill=\"rgb(%u,%u,%u)", &rgb[0], &rgb[1],
			    &rgb[2]),
		     3);
	cr_assert(rgb[2] > rgb[0] && rgb[0] == rgb[1]);
	cr_assert_not_null(strstr(lg, "data-re=\"_\\[php\\]$\""));
	/* Native frames have no mark to search for. */
	cr_assert_eq(count_of(lg, "data-re="), 6);
	/* The legend is no frame: the script and the checks only look
	 * inside #frames. */
	cr_assert_null(strstr(lg, "data-o="));
	cr_assert_not_null(strstr(svg, "tg.legend.addEventListener("));
	free(lg);
	free(svg);
	folded__free(f);
}

Test(flamegraph, legend_lists_only_the_types_drawn)
{
	const char *stacks[] = { "proc;main;do_idle_[k]",
				 "proc;main;rare_[j]" };
	const uint64_t counts[] = { 999, 1 };
	struct flamegraph_opts o = { .sz = sizeof(o), .min_width_px = 2.0 };
	struct folded *f = folded_of(stacks, counts, 2);
	char *svg = render(f, &o), *lg = legend_of(svg);

	assert_well_formed(svg);
	cr_assert_not_null(strstr(lg, ">native</text>"));
	cr_assert_not_null(strstr(lg, ">kernel (_[k])</text>"));
	/* rare_[j] is 1.18 px: not drawn, not in the legend. */
	cr_assert_null(strstr(lg, "jit"));
	free(lg);
	free(svg);
	folded__free(f);
}

/* Types without a color of their own are listed by name up to a bound;
 * the rest share one entry that searches for them all. */
Test(flamegraph, legend_of_many_unknown_types_is_bounded)
{
	struct folded *f = folded__new(0);
	char stack[64], *svg, *lg;
	int i;

	for (i = 0; i < 12; i++) {
		snprintf(stack, sizeof(stack), "p;main;f%d_[lang%02d]", i, i);
		cr_assert_eq(folded__add(f, stack, 1), 0);
	}
	svg = render(f, NULL);
	assert_well_formed(svg);
	lg = legend_of(svg);
	/* The first eight met, the stacks' order: f0, f1, f10, f11, f2 .. */
	cr_assert_eq(count_of(lg, "</text>"), 10); /* and native */
	cr_assert_lt(strstr(lg, ">lang00 (_[lang00])</text>"),
		     strstr(lg, ">lang05 (_[lang05])</text>"));
	cr_assert_lt(strstr(lg, ">lang05 (_[lang05])</text>"),
		     strstr(lg, ">lang11 (_[lang11])</text>"));
	cr_assert_null(strstr(lg, "lang06"));
	cr_assert_not_null(strstr(lg, ">other types</text>"));
	/* Wider than one row of 1200 px: the legend wraps, and the SVG
	 * is tall enough for its rows. */
	cr_assert_gt(count_of(lg, "<rect "), 9);
	free(lg);
	free(svg);
	folded__free(f);
}

Test(flamegraph, depth_is_bounded_and_cut_stacks_are_counted)
{
	enum { FRAMES = 3000 };
	struct folded *f = folded__new(0);
	char *stack = malloc(FRAMES * 3 + 8), *svg, *p = stack;
	struct frame_box *b = calloc(2048, sizeof(*b));
	int i;

	cr_assert(stack && b);
	p += sprintf(p, "deep");
	for (i = 0; i < FRAMES; i++)
		p += sprintf(p, ";f%d", i % 10);
	cr_assert_eq(folded__add(f, stack, 1), 0);
	svg = render(f, NULL);
	assert_well_formed(svg);
	cr_assert_eq(frame_boxes(svg, b, 2048), 1024);
	cr_assert_not_null(strstr(svg, "1 stack cut at 1024 levels"));
	free(b);
	free(svg);
	free(stack);
	folded__free(f);
}

Test(flamegraph, search_and_zoom_script_is_present)
{
	struct folded *f = realistic_profile();
	char *svg = render(f, NULL);

	cr_assert_not_null(strstr(svg, "<script type=\"text/ecmascript\">"
				       "<![CDATA["));
	cr_assert_not_null(strstr(svg, "function tgZoom("));
	cr_assert_not_null(strstr(svg, "function tgUnzoom("));
	cr_assert_not_null(strstr(svg, "function tgSearch("));
	cr_assert_not_null(strstr(svg, "new RegExp("));
	cr_assert_not_null(strstr(svg, "e.ctrlKey"));
	cr_assert_not_null(strstr(svg, ">Reset Zoom</text>"));
	cr_assert_not_null(strstr(svg, ">Search</text>"));
	cr_assert_not_null(strstr(svg, "<text id=\"details\""));
	cr_assert_not_null(strstr(svg, "<text id=\"matched\""));
	free(svg);
	folded__free(f);
}

Test(flamegraph, options_are_checked_and_defaulted)
{
	struct flamegraph_opts bad = { .sz = 0 };
	struct flamegraph_opts narrow = { .sz = sizeof(narrow), .width = 300 };
	/* A caller built against a smaller struct: width is beyond its sz,
	 * so the garbage there is ignored. */
	struct flamegraph_opts old = {
		.sz = offsetof(struct flamegraph_opts, width), .width = 7
	};
	struct folded *f = realistic_profile();
	char *svg;

	cr_assert_eq(flamegraph__write(f, &bad, stdout), -EINVAL);
	cr_assert_eq(flamegraph__write(NULL, NULL, stdout), -EINVAL);

	svg = render(f, &narrow);
	cr_assert_not_null(strstr(svg, "<svg version=\"1.1\" width=\"300\""));
	free(svg);
	svg = render(f, &old);
	cr_assert_not_null(strstr(svg, "<svg version=\"1.1\" width=\"1200\""));
	cr_assert_not_null(strstr(svg, ">tgprof CPU flame graph</text>"));
	free(svg);
	folded__free(f);
}
