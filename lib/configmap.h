/* SPDX-License-Identifier: Apache-2.0 */
/* Config maps, the Fluent Bit way: one table per component declares every
 * key (the public struct tgprof_config_key) and where its value lands in
 * the component's C struct. Text from YAML goes in through
 * configmap__set(); the struct comes out filled, bounded and checked.
 *
 * A component writes ONE X-macro list of its keys and expands it twice,
 * once into the key table and once into the field table, so the two can
 * never drift apart:
 *
 *	#define FOO_KEYS(X)                                                 \
 *		X("rate", rate, INT, "19", 1, 10000, 0, "Samples per second.") \
 *		X("tls.ca_file", ca_file, STRING, "", 0, 0, 0, "CA bundle.",   \
 *		  .max_len = 4095)
 *	#define FOO_FIELD(...) CONFIGMAP_FIELD(struct foo, __VA_ARGS__)
 *	static const struct tgprof_config_key foo_keys[] = {
 *		FOO_KEYS(CONFIGMAP_KEY) };
 *	static const struct configmap_field foo_fields[] = {
 *		FOO_KEYS(FOO_FIELD) };
 *
 * A row is (name, member, TYPE, default, min, max, flags, description,
 * [designated initializers of struct configmap_field: .max_len,
 * .max_items, .min_items, .choices, .example]).
 *
 * Value semantics:
 *  - BOOL is "true" or "false". INT is decimal. DURATION is a sequence of
 *    number+unit (ns, us, ms, s, m, h; fractions allowed: "1.5s",
 *    "1m30s"); a bare number means seconds, as in `tgprof record -d 10`.
 *    SIZE is a whole number with an optional unit: B, KiB/Ki, MiB/Mi,
 *    GiB/Gi, TiB/Ti (powers of 1024) or kB/KB, MB, GB, TB (powers of
 *    1000); a bare number means bytes. Bounds of DURATION are in ns, of
 *    SIZE in bytes.
 *  - Lists: the first configmap__set() of a key replaces its default,
 *    later ones append one element each; a NULL value makes the list
 *    empty. Maps (host side only) are set as "KEY.ENTRY".
 *  - Strings are owned by the struct (heap) and bounded by max_len;
 *    lists and maps by max_items.
 *
 * configmap.c parses, sets, validates and copies; configmap_text.c words
 * values and bounds for its messages; configmap_print.c (its own header)
 * writes the tables as YAML and as key tables.
 */
#ifndef TGPROF_LIB_CONFIGMAP_H
#define TGPROF_LIB_CONFIGMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "include/tgprof/receiver.h"

/* The key types, short for the X-macro rows. */
#define CONFIGMAP_BOOL TGPROF_CONFIG_BOOL
#define CONFIGMAP_INT TGPROF_CONFIG_INT
#define CONFIGMAP_DURATION TGPROF_CONFIG_DURATION
#define CONFIGMAP_SIZE TGPROF_CONFIG_SIZE
#define CONFIGMAP_STRING TGPROF_CONFIG_STRING
#define CONFIGMAP_STRING_LIST TGPROF_CONFIG_STRING_LIST
#define CONFIGMAP_INT_LIST TGPROF_CONFIG_INT_LIST
/* Host side only, never in a plugin's table: a map of strings to strings
 * ("headers"), default "{}". Set one entry as "KEY.ENTRY". */
#define CONFIGMAP_STRING_MAP ((enum tgprof_config_type)64)

/* Bounds, in the units the types keep. */
#define CONFIGMAP_NS(n) ((int64_t)(n))
#define CONFIGMAP_MS(n) ((int64_t)(n)*1000000LL)
#define CONFIGMAP_SEC(n) ((int64_t)(n)*1000000000LL)
#define CONFIGMAP_MIN(n) (CONFIGMAP_SEC(n) * 60)
#define CONFIGMAP_HOUR(n) (CONFIGMAP_SEC(n) * 3600)
#define CONFIGMAP_KIB(n) ((int64_t)(n) << 10)
#define CONFIGMAP_MIB(n) ((int64_t)(n) << 20)
#define CONFIGMAP_GIB(n) ((int64_t)(n) << 30)

#define CONFIGMAP_MAX_KEYS 128 /* per component */
#define CONFIGMAP_STRING_MAX 4095 /* bytes, when a key gives no max_len */
#define CONFIGMAP_ITEMS_MAX 256 /* elements, when a key gives no max_items */
#define CONFIGMAP_NAME_MAX 127 /* a key path, map entry included */
#define CONFIGMAP_ERR_MAX 512 /* room that is always enough for a message */
#define CONFIGMAP_QUOTE_MAX 60 /* bytes of a value echoed in a message */
#define CONFIGMAP_QUOTE_BUF (CONFIGMAP_QUOTE_MAX * 4 + 8) /* what it takes */

/* What a struct member is, found by _Generic from its C type. */
enum configmap_storage {
	CONFIGMAP_ST_NONE = 0, /* a type the config map cannot fill */
	CONFIGMAP_ST_BOOL,
	CONFIGMAP_ST_S8,
	CONFIGMAP_ST_S16,
	CONFIGMAP_ST_S32,
	CONFIGMAP_ST_S64,
	CONFIGMAP_ST_U8,
	CONFIGMAP_ST_U16,
	CONFIGMAP_ST_U32,
	CONFIGMAP_ST_U64,
	CONFIGMAP_ST_STRING, /* char * (or const char *), owned, never NULL */
	CONFIGMAP_ST_STR_LIST, /* struct configmap_str_list */
	CONFIGMAP_ST_INT_LIST, /* struct configmap_int_list */
	CONFIGMAP_ST_STR_MAP, /* struct configmap_str_map */
};

struct configmap_str_list {
	size_t n;
	char **items; /* owned */
};

struct configmap_int_list {
	size_t n;
	int64_t *items; /* owned */
};

struct configmap_str_map {
	size_t n;
	char **names; /* owned; unique */
	char **values; /* owned */
};

/* Which keys were set (configmap__set), one bit per key index. */
struct configmap_marks {
	uint64_t bits[CONFIGMAP_MAX_KEYS / 64];
};

/* Where a key's value lands, and the host-side limits. */
struct configmap_field {
	size_t offset;
	enum configmap_storage storage;
	/* STRING and each element of a STRING_LIST or STRING_MAP: bytes;
	 * 0: CONFIGMAP_STRING_MAX. */
	uint32_t max_len;
	/* Lists and maps: 0: CONFIGMAP_ITEMS_MAX. */
	uint32_t max_items;
	uint32_t min_items; /* lists: checked by configmap__validate() */
	/* STRING and STRING_LIST: the allowed values, "gzip|none". */
	const char *choices;
	/* REQUIRED keys: the value `tgprof config --defaults` prints. */
	const char *example;
};

/* The storage a member of type @x calls for. */
#define CONFIGMAP_STORAGE(x) \
	_Generic((x),                                         \
		bool: CONFIGMAP_ST_BOOL,                      \
		int8_t: CONFIGMAP_ST_S8,                      \
		int16_t: CONFIGMAP_ST_S16,                    \
		int32_t: CONFIGMAP_ST_S32,                    \
		int64_t: CONFIGMAP_ST_S64,                    \
		uint8_t: CONFIGMAP_ST_U8,                     \
		uint16_t: CONFIGMAP_ST_U16,                   \
		uint32_t: CONFIGMAP_ST_U32,                   \
		uint64_t: CONFIGMAP_ST_U64,                   \
		char *: CONFIGMAP_ST_STRING,                  \
		const char *: CONFIGMAP_ST_STRING,            \
		struct configmap_str_list: CONFIGMAP_ST_STR_LIST, \
		struct configmap_int_list: CONFIGMAP_ST_INT_LIST, \
		struct configmap_str_map: CONFIGMAP_ST_STR_MAP, \
		default: CONFIGMAP_ST_NONE)

/* X-macro expanders: a row into a struct tgprof_config_key, and a row
 * into a struct configmap_field of struct type S. */
#define CONFIGMAP_KEY(name_, member_, type_, def_, min_, max_, flags_, desc_, \
		      ...)                                                    \
	{ .name = (name_),                                                    \
	  .type = CONFIGMAP_##type_,                                          \
	  .default_value = (def_),                                            \
	  .min = (min_),                                                      \
	  .max = (max_),                                                      \
	  .flags = (flags_),                                                  \
	  .description = (desc_) },
#define CONFIGMAP_FIELD(S, name_, member_, type_, def_, min_, max_, flags_, \
			desc_, ...)                                         \
	{ .offset = offsetof(S, member_),                                   \
	  .storage = CONFIGMAP_STORAGE(((S *)0)->member_),                  \
	  __VA_ARGS__ },

/* A component's table: keys and fields in the same order. */
struct configmap {
	const struct tgprof_config_key *keys;
	const struct configmap_field *fields;
	size_t nkeys;
	size_t marks_offset; /* of the struct configmap_marks in the struct */
};

/*
 * Fills the config-mapped members of @base (the rest is left alone) with
 * the defaults. Owned members must not hold anything yet: their old value
 * is overwritten, not freed. 0, or -ENOMEM, or -EINVAL when a default
 * does not parse (a bug in the table; the message is in @err). On error,
 * configmap__release() frees what was filled.
 */
int configmap__init(const struct configmap *m, void *base, char *err,
		    size_t errlen);

/*
 * Sets @key from @value, its text as it appears in YAML (already
 * expanded). Lists: see the file comment; @value NULL makes a list or a
 * map empty. Returns 0, or -ENOENT (unknown key), -EINVAL (not of the
 * key's type), -ERANGE (out of bounds, too long, too many), -ENOMEM; the
 * message, saying what was expected, goes to @err (never NULL on error
 * when @errlen > 0). The struct is unchanged on error.
 */
int configmap__set(const struct configmap *m, void *base, const char *key,
		   const char *value, char *err, size_t errlen);

/* Whether key @idx was set by configmap__set(). */
bool configmap__is_set(const struct configmap *m, const void *base, size_t idx);

typedef void (*configmap_report_fn)(void *ctx, const char *key,
				    const char *problem);

/*
 * Checks what the types say: required keys set, values within their
 * bounds, lengths and choices, lists long enough. Pure. Reports each
 * problem through @report (key path; a list element as "key[i]") and
 * returns their number.
 */
size_t configmap__validate(const struct configmap *m, const void *base,
			   configmap_report_fn report, void *ctx);

/*
 * Makes @dst (a byte copy of @src, struct and all) own copies of every
 * string, list and map of @src. 0 or -ENOMEM (then the owned members of
 * @dst are empty and may be released).
 */
int configmap__copy(const struct configmap *m, void *dst, const void *src);

/* Frees the owned members of @base and zeroes them. Accepts NULL. */
void configmap__release(const struct configmap *m, void *base);

/*
 * Checks a table against itself: storages that fit the types, defaults
 * that parse, unique names, nested keys grouped together, no key that is
 * also a prefix of others, at most CONFIGMAP_MAX_KEYS keys. Reports each
 * mistake; returns how many. For unit tests.
 */
size_t configmap__check(const struct configmap *m, configmap_report_fn report,
			void *ctx);

/* The index of the key named @name in @keys, or -1. */
int configmap__find(const struct tgprof_config_key *keys, size_t nkeys,
		    const char *name);
/* Whether some key of @keys lies below @prefix ("filter" for
 * "filter.include_pid"). */
bool configmap__has_prefix(const struct tgprof_config_key *keys, size_t nkeys,
			   const char *prefix);
/* Writes to @buf the key name (or parent of key names) nearest to @name
 * by edit distance, when near enough to be a typo, and returns true. */
bool configmap__suggest(const struct tgprof_config_key *keys, size_t nkeys,
			const char *name, char *buf, size_t len);

/* Text parsers, exposed for the host and tests. 0, -EINVAL (syntax) or
 * -ERANGE (overflow); *ret written only on success. */
int configmap__parse_bool(const char *s, bool *ret);
int configmap__parse_int(const char *s, int64_t *ret);
int configmap__parse_duration(const char *s, uint64_t *ret_ns);
int configmap__parse_size(const char *s, uint64_t *ret_bytes);

/* "1h", "5m", "250ms", "0s": the largest unit that is exact. */
void configmap__format_duration(uint64_t ns, char *buf, size_t len);
/* "1GiB", "512KiB", "5000": the largest binary unit that is exact. */
void configmap__format_size(uint64_t bytes, char *buf, size_t len);

/* "bool", "int", "duration", "size", "string", "string list", "int list",
 * "string map". */
const char *configmap__type_name(enum tgprof_config_type type);
/* The bounds of @key as text ("1..10000", "100ms..1h", one of "a, b"),
 * "" when it has none. @field may be NULL. */
void configmap__bounds_text(const struct tgprof_config_key *key,
			    const struct configmap_field *field, char *buf,
			    size_t len);
/* What one value (a list element, a map value) of @key must be: "an
 * integer in 1..10000", "one of gzip, none". @field may be NULL. */
void configmap__expected_text(const struct tgprof_config_key *key,
			      const struct configmap_field *field, char *buf,
			      size_t len);
/* @v, a value or bound of a key of @type, as text in the type's units. */
void configmap__format_value(enum tgprof_config_type type, int64_t v, char *buf,
			     size_t len);
/* Whether keys of @key's type have numeric bounds (min, max). */
bool configmap__has_bounds(const struct tgprof_config_key *key);

/* @s for a message: double-quoted, escaped, cut after
 * CONFIGMAP_QUOTE_MAX bytes with "..."; CONFIGMAP_QUOTE_BUF bytes of @buf
 * always hold it. */
void configmap__quote(const char *s, char *buf, size_t len);

#endif
