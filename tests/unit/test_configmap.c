// SPDX-License-Identifier: Apache-2.0
/* Config maps: how a component's one key table turns YAML text into its
 * C struct, with bounds, list semantics, defaults and messages that say
 * what was expected. A small component of its own exercises the table
 * macros the receiver and the host use. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/configmap.h"
#include "lib/configmap_print.h"

struct demo {
	uint32_t rate;
	int64_t offset;
	bool on;
	uint64_t interval_ns;
	size_t buffer;
	char *name;
	char *mode;
	struct configmap_str_list tags;
	struct configmap_int_list ports;
	struct configmap_str_map headers;
	char *url;
	struct configmap_marks marks;
};

#define DEMO_KEYS(X)                                                          \
	X("rate", rate, INT, "19", 1, 10000, 0, "Samples per second.")        \
	X("offset", offset, INT, "-5", -100, 100, 0, "A signed number.")      \
	X("on", on, BOOL, "true", 0, 0, 0, "A switch.")                       \
	X("interval", interval_ns, DURATION, "5s", CONFIGMAP_MS(100),         \
	  CONFIGMAP_HOUR(1), 0, "How often.")                                 \
	X("buffer", buffer, SIZE, "8MiB", CONFIGMAP_KIB(4), CONFIGMAP_GIB(1), \
	  0, "How big.")                                                      \
	X("name", name, STRING, "tgprof", 0, 0, 0, "A name.", .max_len = 8)   \
	X("mode", mode, STRING, "fast", 0, 0, 0, "A choice.",                 \
	  .choices = "fast|slow")                                             \
	X("nested.tags", tags, STRING_LIST, "[a, b]", 0, 0, 0, "Tags.",       \
	  .max_items = 3, .min_items = 1)                                     \
	X("nested.ports", ports, INT_LIST, "[]", 1, 65535, 0, "Ports.")       \
	X("headers", headers, STRING_MAP, "{}", 0, 0, 0, "Headers.",          \
	  .max_items = 2)                                                     \
	X("url", url, STRING, NULL, 0, 0, TGPROF_CONFIG_REQUIRED, "A URL.",   \
	  .example = "http://localhost:4318")

#define DEMO_FIELD(...) CONFIGMAP_FIELD(struct demo, __VA_ARGS__)

static const struct tgprof_config_key demo_keys[] = { DEMO_KEYS(
	CONFIGMAP_KEY) };
static const struct configmap_field demo_fields[] = { DEMO_KEYS(DEMO_FIELD) };
static const struct configmap demo_map = {
	.keys = demo_keys,
	.fields = demo_fields,
	.nkeys = sizeof(demo_keys) / sizeof(demo_keys[0]),
	.marks_offset = offsetof(struct demo, marks),
};

static struct demo *demo_new(void)
{
	struct demo *d = calloc(1, sizeof(*d));
	char err[CONFIGMAP_ERR_MAX];

	cr_assert_not_null(d);
	cr_assert_eq(configmap__init(&demo_map, d, err, sizeof(err)), 0, "%s",
		     err);
	return d;
}

static void demo_free(struct demo *d)
{
	configmap__release(&demo_map, d);
	free(d);
}

/* Sets @key and expects @want_ret and (when not 0) exactly @want_msg. */
static void expect_set(struct demo *d, const char *key, const char *value,
		       int want_ret, const char *want_msg)
{
	char err[CONFIGMAP_ERR_MAX] = "";
	int ret = configmap__set(&demo_map, d, key, value, err, sizeof(err));

	cr_assert_eq(ret, want_ret, "%s=%s: %d (%s)", key, value, ret, err);
	if (want_msg)
		cr_assert_str_eq(err, want_msg);
}

static uint64_t dur(const char *s)
{
	uint64_t v = 0;

	cr_assert_eq(configmap__parse_duration(s, &v), 0, "%s", s);
	return v;
}

static uint64_t size(const char *s)
{
	uint64_t v = 0;

	cr_assert_eq(configmap__parse_size(s, &v), 0, "%s", s);
	return v;
}

Test(configmap, durations_take_units_fractions_and_bare_seconds)
{
	cr_assert_eq(dur("250ms"), 250000000ULL);
	cr_assert_eq(dur("5s"), 5000000000ULL);
	cr_assert_eq(dur("2m"), 120000000000ULL);
	cr_assert_eq(dur("1h"), 3600000000000ULL);
	cr_assert_eq(dur("1h30m"), 5400000000000ULL);
	cr_assert_eq(dur("1m30s"), 90000000000ULL);
	cr_assert_eq(dur("1.5s"), 1500000000ULL);
	cr_assert_eq(dur(".5s"), 500000000ULL);
	cr_assert_eq(dur("10us"), 10000ULL);
	cr_assert_eq(dur("10\xc2\xb5s"), 10000ULL);
	cr_assert_eq(dur("7ns"), 7ULL);
	/* A bare number is seconds, as `tgprof record -d 10` reads it. */
	cr_assert_eq(dur("10"), 10000000000ULL);
	cr_assert_eq(dur("2.5"), 2500000000ULL);
	cr_assert_eq(dur("0"), 0ULL);
	cr_assert_eq(dur("0s"), 0ULL);
	/* Fractions finer than a nanosecond are cut, not rounded. */
	cr_assert_eq(dur("1.0000000019s"), 1000000001ULL);
}

Test(configmap, durations_reject_what_is_not_one)
{
	static const char *const bad[] = {
		"",	"s",  "5 s",  " 5s", "5s ",    "-1s",
		"+1s",	"5x", "1s5",  "5ss", "1.s.",   "..5s",
		"1e3s", "5S", "5sec", "ms",  "1h 30m",
	};
	uint64_t v = 42;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(configmap__parse_duration(bad[i], &v), -EINVAL,
			     "\"%s\"", bad[i]);
		cr_assert_eq(v, 42, "written on failure: \"%s\"", bad[i]);
	}
}

Test(configmap, durations_past_int64_are_out_of_range)
{
	uint64_t v;

	cr_assert_eq(configmap__parse_duration("3000000h", &v), -ERANGE);
	cr_assert_eq(configmap__parse_duration("99999999999999999999s", &v),
		     -ERANGE);
	cr_assert_eq(configmap__parse_duration("9223372036854775807ns", &v), 0);
	cr_assert_eq(configmap__parse_duration("9223372036854775808ns", &v),
		     -ERANGE);
}

Test(configmap, sizes_take_binary_and_decimal_units)
{
	cr_assert_eq(size("512KiB"), 512ULL << 10);
	cr_assert_eq(size("8MiB"), 8ULL << 20);
	cr_assert_eq(size("1GiB"), 1ULL << 30);
	cr_assert_eq(size("2TiB"), 2ULL << 40);
	cr_assert_eq(size("4Ki"), 4096ULL);
	cr_assert_eq(size("4096"), 4096ULL);
	cr_assert_eq(size("4096B"), 4096ULL);
	cr_assert_eq(size("1kB"), 1000ULL);
	cr_assert_eq(size("1KB"), 1000ULL);
	cr_assert_eq(size("3MB"), 3000000ULL);
	cr_assert_eq(size("1GB"), 1000000000ULL);
	cr_assert_eq(size("0"), 0ULL);
}

Test(configmap, sizes_reject_fractions_spaces_and_unknown_units)
{
	static const char *const bad[] = {
		"",	"GiB", "1.5GiB", "8 MiB", "-1",	  "+1",
		"1KIB", "1k",  "1K",	 "1mb",	  "0x10", "1 ",
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(configmap__parse_size(bad[i], &v), -EINVAL,
			     "\"%s\"", bad[i]);
	cr_assert_eq(configmap__parse_size("9000000TiB", &v), -ERANGE);
	cr_assert_eq(configmap__parse_size("99999999999999999999", &v),
		     -ERANGE);
}

Test(configmap, formats_pick_the_largest_exact_unit)
{
	char b[32];

	configmap__format_duration(3600000000000ULL, b, sizeof(b));
	cr_assert_str_eq(b, "1h");
	configmap__format_duration(300000000000ULL, b, sizeof(b));
	cr_assert_str_eq(b, "5m");
	configmap__format_duration(90000000000ULL, b, sizeof(b));
	cr_assert_str_eq(b, "90s");
	configmap__format_duration(250000000ULL, b, sizeof(b));
	cr_assert_str_eq(b, "250ms");
	configmap__format_duration(1500, b, sizeof(b));
	cr_assert_str_eq(b, "1500ns");
	configmap__format_duration(0, b, sizeof(b));
	cr_assert_str_eq(b, "0s");
	configmap__format_size(1ULL << 30, b, sizeof(b));
	cr_assert_str_eq(b, "1GiB");
	configmap__format_size(4096, b, sizeof(b));
	cr_assert_str_eq(b, "4KiB");
	configmap__format_size(5000, b, sizeof(b));
	cr_assert_str_eq(b, "5000");
	configmap__format_size(0, b, sizeof(b));
	cr_assert_str_eq(b, "0");
}

Test(configmap, bools_and_ints_are_strict)
{
	int64_t v;
	bool b;

	cr_assert_eq(configmap__parse_bool("true", &b), 0);
	cr_assert(b);
	cr_assert_eq(configmap__parse_bool("false", &b), 0);
	cr_assert(!b);
	cr_assert_eq(configmap__parse_bool("yes", &b), -EINVAL);
	cr_assert_eq(configmap__parse_bool("True", &b), -EINVAL);
	cr_assert_eq(configmap__parse_bool("1", &b), -EINVAL);
	cr_assert_eq(configmap__parse_int("-42", &v), 0);
	cr_assert_eq(v, -42);
	cr_assert_eq(configmap__parse_int("+42", &v), -EINVAL);
	cr_assert_eq(configmap__parse_int("4 2", &v), -EINVAL);
	cr_assert_eq(configmap__parse_int("0x10", &v), -EINVAL);
	cr_assert_eq(configmap__parse_int("1e3", &v), -EINVAL);
	cr_assert_eq(configmap__parse_int("", &v), -EINVAL);
	cr_assert_eq(configmap__parse_int("-", &v), -EINVAL);
	cr_assert_eq(configmap__parse_int("99999999999999999999", &v), -ERANGE);
}

Test(configmap, defaults_fill_every_member)
{
	struct demo *d = demo_new();

	cr_assert_eq(d->rate, 19);
	cr_assert_eq(d->offset, -5);
	cr_assert(d->on);
	cr_assert_eq(d->interval_ns, 5000000000ULL);
	cr_assert_eq(d->buffer, 8u << 20);
	cr_assert_str_eq(d->name, "tgprof");
	cr_assert_str_eq(d->mode, "fast");
	cr_assert_eq(d->tags.n, 2);
	cr_assert_str_eq(d->tags.items[0], "a");
	cr_assert_str_eq(d->tags.items[1], "b");
	cr_assert_eq(d->ports.n, 0);
	cr_assert_eq(d->headers.n, 0);
	/* A required string has no default, yet is never NULL. */
	cr_assert_str_eq(d->url, "");
	cr_assert(!configmap__is_set(&demo_map, d, 0));
	demo_free(d);
}

Test(configmap, set_parses_each_type)
{
	struct demo *d = demo_new();

	expect_set(d, "rate", "100", 0, NULL);
	expect_set(d, "offset", "-100", 0, NULL);
	expect_set(d, "on", "false", 0, NULL);
	expect_set(d, "interval", "1m30s", 0, NULL);
	expect_set(d, "buffer", "512KiB", 0, NULL);
	expect_set(d, "name", "profiler", 0, NULL);
	expect_set(d, "mode", "slow", 0, NULL);
	cr_assert_eq(d->rate, 100);
	cr_assert_eq(d->offset, -100);
	cr_assert(!d->on);
	cr_assert_eq(d->interval_ns, 90000000000ULL);
	cr_assert_eq(d->buffer, 512u << 10);
	cr_assert_str_eq(d->name, "profiler");
	cr_assert_str_eq(d->mode, "slow");
	cr_assert(configmap__is_set(&demo_map, d, 0));
	demo_free(d);
}

Test(configmap, set_says_what_was_expected)
{
	struct demo *d = demo_new();

	expect_set(d, "rate", "fast", -EINVAL,
		   "expected an integer in 1..10000, got \"fast\"");
	expect_set(d, "rate", "0", -ERANGE,
		   "expected an integer in 1..10000, got \"0\"");
	expect_set(d, "rate", "10001", -ERANGE,
		   "expected an integer in 1..10000, got \"10001\"");
	expect_set(d, "on", "yes", -EINVAL,
		   "expected true or false, got \"yes\"");
	expect_set(
		d, "interval", "50ms", -ERANGE,
		"expected a duration in 100ms..1h (like 250ms, 5s, 2m), got \"50ms\"");
	expect_set(
		d, "interval", "soon", -EINVAL,
		"expected a duration in 100ms..1h (like 250ms, 5s, 2m), got \"soon\"");
	expect_set(
		d, "buffer", "2GiB", -ERANGE,
		"expected a size in 4KiB..1GiB (like 512KiB, 8MiB), got \"2GiB\"");
	expect_set(d, "name", "123456789", -ERANGE,
		   "expected at most 8 bytes, got 9");
	expect_set(d, "mode", "medium", -EINVAL,
		   "expected one of fast, slow, got \"medium\"");
	expect_set(d, "rate", NULL, -EINVAL,
		   "expected an integer in 1..10000, got null");
	expect_set(d, "headers", "x", -EINVAL,
		   "expected a mapping of names to strings");
	/* Refused values leave the struct as it was. */
	cr_assert_eq(d->rate, 19);
	cr_assert(d->on);
	cr_assert_str_eq(d->name, "tgprof");
	cr_assert(!configmap__is_set(&demo_map, d, 0));
	demo_free(d);
}

Test(configmap, unknown_keys_suggest_the_nearest)
{
	struct demo *d = demo_new();

	expect_set(d, "rat", "1", -ENOENT, "unknown key (did you mean rate?)");
	expect_set(d, "nested.tag", "1", -ENOENT,
		   "unknown key (did you mean nested.tags?)");
	expect_set(d, "nestd", "1", -ENOENT,
		   "unknown key (did you mean nested?)");
	expect_set(d, "compression", "1", -ENOENT, "unknown key");
	expect_set(d, "nested", "1", -ENOENT, "unknown key");
	demo_free(d);
}

Test(configmap, values_in_messages_are_escaped_and_cut)
{
	char long_value[200];
	struct demo *d = demo_new();

	expect_set(
		d, "rate", "a\"b\\c\n\x01", -EINVAL,
		"expected an integer in 1..10000, got \"a\\\"b\\\\c\\n\\x01\"");
	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	expect_set(
		d, "rate", long_value, -EINVAL,
		"expected an integer in 1..10000, got "
		"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"");
	demo_free(d);
}

Test(configmap, a_list_first_set_replaces_the_default_then_appends)
{
	struct demo *d = demo_new();

	expect_set(d, "nested.tags", "x", 0, NULL);
	cr_assert_eq(d->tags.n, 1);
	cr_assert_str_eq(d->tags.items[0], "x");
	expect_set(d, "nested.tags", "y", 0, NULL);
	expect_set(d, "nested.tags", "z", 0, NULL);
	cr_assert_eq(d->tags.n, 3);
	cr_assert_str_eq(d->tags.items[1], "y");
	cr_assert_str_eq(d->tags.items[2], "z");
	expect_set(d, "nested.tags", "w", -ERANGE,
		   "expected at most 3 elements");
	cr_assert_eq(d->tags.n, 3);
	/* NULL empties it, and counts as set. */
	expect_set(d, "nested.tags", NULL, 0, NULL);
	cr_assert_eq(d->tags.n, 0);
	demo_free(d);
}

Test(configmap, a_refused_first_element_keeps_the_default)
{
	struct demo *d = demo_new();

	expect_set(d, "nested.ports", "0", -ERANGE,
		   "expected an integer in 1..65535, got \"0\"");
	expect_set(d, "nested.ports", "8080", 0, NULL);
	expect_set(d, "nested.ports", "8081", 0, NULL);
	cr_assert_eq(d->ports.n, 2);
	cr_assert_eq(d->ports.items[0], 8080);
	cr_assert_eq(d->ports.items[1], 8081);
	demo_free(d);
}

Test(configmap, map_entries_are_set_below_the_key)
{
	struct demo *d = demo_new();

	expect_set(d, "headers.authorization", "Bearer x", 0, NULL);
	expect_set(d, "headers.x-scope.org", "tenant", 0, NULL);
	expect_set(d, "headers.authorization", "Bearer y", 0, NULL);
	cr_assert_eq(d->headers.n, 2);
	cr_assert_str_eq(d->headers.names[0], "authorization");
	cr_assert_str_eq(d->headers.values[0], "Bearer y");
	cr_assert_str_eq(d->headers.names[1], "x-scope.org");
	expect_set(d, "headers.third", "v", -ERANGE,
		   "expected at most 2 entries");
	demo_free(d);
}

struct reports {
	char text[16][CONFIGMAP_ERR_MAX + 64];
	size_t n;
};

static void collect(void *ctx, const char *key, const char *problem)
{
	struct reports *r = ctx;

	if (r->n < 16)
		snprintf(r->text[r->n++], sizeof(r->text[0]), "%s: %s", key,
			 problem);
}

Test(configmap, validate_reports_required_bounds_and_list_lengths)
{
	struct demo *d = demo_new();
	struct reports r = { 0 };

	expect_set(d, "nested.tags", NULL, 0, NULL);
	d->rate = 0; /* as a caller that writes the struct could */
	d->ports.items = malloc(sizeof(int64_t));
	d->ports.items[0] = 70000;
	d->ports.n = 1;
	cr_assert_eq(configmap__validate(&demo_map, d, collect, &r), 4);
	cr_assert_str_eq(r.text[0],
			 "rate: expected an integer in 1..10000, got 0");
	cr_assert_str_eq(r.text[1], "nested.tags: expected at least 1 element");
	cr_assert_str_eq(
		r.text[2],
		"nested.ports[0]: expected an integer in 1..65535, got 70000");
	cr_assert_str_eq(r.text[3], "url: required key is missing");
	demo_free(d);
}

Test(configmap, copy_owns_its_strings_lists_and_maps)
{
	struct demo *d = demo_new(), *c = malloc(sizeof(*c));

	expect_set(d, "headers.a", "1", 0, NULL);
	expect_set(d, "nested.ports", "80", 0, NULL);
	*c = *d;
	cr_assert_eq(configmap__copy(&demo_map, c, d), 0);
	cr_assert_neq(c->name, d->name);
	cr_assert_str_eq(c->name, "tgprof");
	cr_assert_neq(c->tags.items, d->tags.items);
	cr_assert_str_eq(c->tags.items[1], "b");
	cr_assert_eq(c->ports.items[0], 80);
	cr_assert_str_eq(c->headers.values[0], "1");
	cr_assert(configmap__is_set(&demo_map, c, 8));
	demo_free(d);
	demo_free(c);
	configmap__release(&demo_map, NULL);
}

Test(configmap, the_demo_table_checks_clean)
{
	struct reports r = { 0 };

	cr_assert_eq(configmap__check(&demo_map, collect, &r), 0, "%s",
		     r.text[0]);
}

struct broken {
	uint8_t small;
	char *s;
	uint32_t n;
	struct configmap_marks marks;
};

#define BROKEN_KEYS(X)                                                  \
	X("a.one", small, INT, "1", 0, 1000, 0, "Bounds past uint8_t.") \
	X("b", s, BOOL, "true", 0, 0, 0, "A bool in a string.")         \
	X("a.two", n, INT, "x", 0, 10, 0, "Apart from a.one; bad default.")

#define BROKEN_FIELD(...) CONFIGMAP_FIELD(struct broken, __VA_ARGS__)

Test(configmap, check_finds_mistakes_in_a_table)
{
	static const struct tgprof_config_key keys[] = { BROKEN_KEYS(
		CONFIGMAP_KEY) };
	static const struct configmap_field fields[] = { BROKEN_KEYS(
		BROKEN_FIELD) };
	const struct configmap m = {
		.keys = keys,
		.fields = fields,
		.nkeys = 3,
		.marks_offset = offsetof(struct broken, marks),
	};
	struct reports r = { 0 };

	cr_assert_eq(configmap__check(&m, collect, &r), 3);
	cr_assert_str_eq(r.text[0], "a.one: bounds do not fit the member");
	cr_assert_str_eq(r.text[1], "b: member does not fit type bool");
	cr_assert_str_eq(r.text[2],
			 "a.two: not next to the other keys below its parent");
}

static char *print_yaml(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(configmap__print_yaml(f, demo_keys, demo_fields,
					   demo_map.nkeys, 2),
		     0);
	fclose(f);
	return buf;
}

Test(configmap, defaults_print_as_nested_yaml)
{
	char *yaml = print_yaml();

	cr_assert_str_eq(yaml, "  # Samples per second.\n"
			       "  rate: 19\n"
			       "  # A signed number.\n"
			       "  offset: -5\n"
			       "  # A switch.\n"
			       "  on: true\n"
			       "  # How often.\n"
			       "  interval: 5s\n"
			       "  # How big.\n"
			       "  buffer: 8MiB\n"
			       "  # A name.\n"
			       "  name: tgprof\n"
			       "  # A choice.\n"
			       "  mode: fast\n"
			       "  nested:\n"
			       "    # Tags.\n"
			       "    tags: [a, b]\n"
			       "    # Ports.\n"
			       "    ports: []\n"
			       "  # Headers.\n"
			       "  headers: {}\n"
			       "  # Required. A URL.\n"
			       "  url: http://localhost:4318\n");
	free(yaml);
}

static char *scalar(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	configmap__yaml_scalar(f, s);
	fclose(f);
	return buf;
}

static void expect_scalar(const char *s, const char *want)
{
	char *got = scalar(s);

	cr_assert_str_eq(got, want, "%s", s);
	free(got);
}

Test(configmap, strings_are_quoted_when_plain_would_change_them)
{
	expect_scalar("/proc", "/proc");
	expect_scalar("./tgprof-out", "./tgprof-out");
	expect_scalar("http://localhost:4318", "http://localhost:4318");
	expect_scalar("", "\"\"");
	expect_scalar("true", "\"true\"");
	expect_scalar("No", "\"No\"");
	expect_scalar("null", "\"null\"");
	expect_scalar("19", "\"19\"");
	expect_scalar("1e3", "\"1e3\"");
	expect_scalar("-x", "\"-x\"");
	expect_scalar("a: b", "\"a: b\"");
	expect_scalar("key:", "\"key:\"");
	expect_scalar("#x", "\"#x\"");
	expect_scalar("a\"b\n", "\"a\\\"b\\n\"");
	expect_scalar(".inf", "\".inf\"");
}

Test(configmap, keys_print_as_text_and_markdown)
{
	static const struct tgprof_config_key two[] = {
		{ .name = "rate",
		  .type = TGPROF_CONFIG_INT,
		  .default_value = "19",
		  .min = 1,
		  .max = 10000,
		  .description = "Samples per second." },
		{ .name = "a|b",
		  .type = TGPROF_CONFIG_STRING,
		  .default_value = "",
		  .description = "Pipes | escaped." },
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(configmap__print_keys(f, two, NULL, 2, true), 0);
	cr_assert_eq(configmap__print_keys(f, two, NULL, 1, false), 0);
	fclose(f);
	cr_assert_str_eq(
		buf,
		"| key | type | default | bounds | description |\n"
		"| --- | --- | --- | --- | --- |\n"
		"| `rate` | int | `19` | 1..10000 | Samples per second. |\n"
		"| `a\\|b` | string | `\"\"` |  | Pipes \\| escaped. |\n"
		"key   type  default  bounds    description\n"
		"rate  int   19       1..10000  Samples per second.\n");
	free(buf);
}

Test(configmap, bounds_text_names_choices_limits_and_ranges)
{
	char b[128];

	configmap__bounds_text(&demo_keys[3], &demo_fields[3], b, sizeof(b));
	cr_assert_str_eq(b, "100ms..1h");
	configmap__bounds_text(&demo_keys[4], &demo_fields[4], b, sizeof(b));
	cr_assert_str_eq(b, "4KiB..1GiB");
	configmap__bounds_text(&demo_keys[5], &demo_fields[5], b, sizeof(b));
	cr_assert_str_eq(b, "up to 8 bytes");
	configmap__bounds_text(&demo_keys[6], &demo_fields[6], b, sizeof(b));
	cr_assert_str_eq(b, "one of fast, slow");
	configmap__bounds_text(&demo_keys[7], &demo_fields[7], b, sizeof(b));
	cr_assert_str_eq(b, "at most 3 items");
	configmap__bounds_text(&demo_keys[8], &demo_fields[8], b, sizeof(b));
	cr_assert_str_eq(b, "each 1..65535");
	configmap__bounds_text(&demo_keys[9], &demo_fields[9], b, sizeof(b));
	cr_assert_str_eq(b, "at most 2 entries");
}
