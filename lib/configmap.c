// SPDX-License-Identifier: Apache-2.0
/* Config maps: text values in, bounded C structs out, every problem said
 * with what was expected (configmap_text.c words it). See configmap.h for
 * the semantics; configmap_print.c writes the tables as YAML and docs. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/configmap.h"

static void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- text parsers ---------------------------------------------------- */

int configmap__parse_bool(const char *s, bool *ret)
{
	if (!strcmp(s, "true")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(s, "false")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

int configmap__parse_int(const char *s, int64_t *ret)
{
	const char *p = *s == '-' ? s + 1 : s;
	long long v;
	char *end;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* Reads decimal digits into *v; -ERANGE on overflow. Returns how many. */
static int read_digits(const char **p, uint64_t *v)
{
	int n = 0;

	*v = 0;
	while (isdigit((unsigned char)**p)) {
		unsigned d = **p - '0';

		if (*v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		*v = *v * 10 + d;
		(*p)++;
		n++;
	}
	return n;
}

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	/* Longer names first: "ms" before "m". */
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 }, /* µs */
	{ "ms", 1000000 },
	{ "s", 1000000000ULL },
	{ "m", 60000000000ULL },
	{ "h", 3600000000000ULL },
};

int configmap__parse_duration(const char *s, uint64_t *ret_ns)
{
	const char *p = s;
	uint64_t total = 0;

	if (!*p)
		return -EINVAL;
	while (*p) {
		uint64_t whole, frac = 0, unit = 0, part, scale;
		const char *frac_start = NULL, *start = p;
		int nw, nf = 0;
		size_t i, ulen = 0;

		nw = read_digits(&p, &whole);
		if (nw < 0)
			return -ERANGE;
		if (*p == '.') {
			p++;
			frac_start = p;
			while (isdigit((unsigned char)*p))
				p++;
			nf = p - frac_start;
		}
		if (!nw && !nf)
			return -EINVAL;
		for (i = 0;
		     i < sizeof(duration_units) / sizeof(duration_units[0]);
		     i++) {
			size_t l = strlen(duration_units[i].name);

			if (!strncmp(p, duration_units[i].name, l) &&
			    l > ulen) {
				ulen = l;
				unit = duration_units[i].ns;
			}
		}
		if (!ulen) {
			/* A bare number is seconds, and only alone. */
			if (*p || start != s)
				return -EINVAL;
			unit = 1000000000ULL;
		}
		p += ulen;
		if (whole > UINT64_MAX / unit)
			return -ERANGE;
		part = whole * unit;
		/* Each fraction digit adds its share of the unit, truncated. */
		scale = unit;
		for (i = 0; frac_start && i < (size_t)nf && scale; i++) {
			scale /= 10;
			frac += (uint64_t)(frac_start[i] - '0') * scale;
		}
		if (part > UINT64_MAX - frac ||
		    total > UINT64_MAX - part - frac)
			return -ERANGE;
		total += part + frac;
	}
	if (total > INT64_MAX)
		return -ERANGE;
	*ret_ns = total;
	return 0;
}

static const struct {
	const char *name;
	uint64_t mult;
} size_units[] = {
	{ "", 1 },
	{ "B", 1 },
	{ "Ki", 1ULL << 10 },
	{ "KiB", 1ULL << 10 },
	{ "Mi", 1ULL << 20 },
	{ "MiB", 1ULL << 20 },
	{ "Gi", 1ULL << 30 },
	{ "GiB", 1ULL << 30 },
	{ "Ti", 1ULL << 40 },
	{ "TiB", 1ULL << 40 },
	{ "kB", 1000 },
	{ "KB", 1000 },
	{ "MB", 1000000 },
	{ "GB", 1000000000ULL },
	{ "TB", 1000000000000ULL },
};

int configmap__parse_size(const char *s, uint64_t *ret_bytes)
{
	const char *p = s;
	uint64_t v;
	size_t i;
	int n;

	n = read_digits(&p, &v);
	if (n < 0)
		return -ERANGE;
	if (!n)
		return -EINVAL;
	for (i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		if (strcmp(p, size_units[i].name))
			continue;
		if (v > UINT64_MAX / size_units[i].mult ||
		    v * size_units[i].mult > INT64_MAX)
			return -ERANGE;
		*ret_bytes = v * size_units[i].mult;
		return 0;
	}
	return -EINVAL;
}

/* ---- storage ----------------------------------------------------------- */

static void *member(void *base, const struct configmap_field *f)
{
	return (char *)base + f->offset;
}

static const void *cmember(const void *base, const struct configmap_field *f)
{
	return (const char *)base + f->offset;
}

static bool storage_is_int(enum configmap_storage st)
{
	return st >= CONFIGMAP_ST_S8 && st <= CONFIGMAP_ST_U64;
}

/* The range a storage holds, for configmap__check(). */
static void storage_range(enum configmap_storage st, int64_t *min, int64_t *max)
{
	switch (st) {
	case CONFIGMAP_ST_S8:
		*min = INT8_MIN, *max = INT8_MAX;
		break;
	case CONFIGMAP_ST_S16:
		*min = INT16_MIN, *max = INT16_MAX;
		break;
	case CONFIGMAP_ST_S32:
		*min = INT32_MIN, *max = INT32_MAX;
		break;
	case CONFIGMAP_ST_U8:
		*min = 0, *max = UINT8_MAX;
		break;
	case CONFIGMAP_ST_U16:
		*min = 0, *max = UINT16_MAX;
		break;
	case CONFIGMAP_ST_U32:
		*min = 0, *max = UINT32_MAX;
		break;
	case CONFIGMAP_ST_U64:
		*min = 0, *max = INT64_MAX;
		break;
	default:
		*min = INT64_MIN, *max = INT64_MAX;
		break;
	}
}

static void store_int(void *p, enum configmap_storage st, int64_t v)
{
	switch (st) {
	case CONFIGMAP_ST_S8:
		*(int8_t *)p = v;
		break;
	case CONFIGMAP_ST_S16:
		*(int16_t *)p = v;
		break;
	case CONFIGMAP_ST_S32:
		*(int32_t *)p = v;
		break;
	case CONFIGMAP_ST_S64:
		*(int64_t *)p = v;
		break;
	case CONFIGMAP_ST_U8:
		*(uint8_t *)p = v;
		break;
	case CONFIGMAP_ST_U16:
		*(uint16_t *)p = v;
		break;
	case CONFIGMAP_ST_U32:
		*(uint32_t *)p = v;
		break;
	case CONFIGMAP_ST_U64:
		*(uint64_t *)p = v;
		break;
	default:
		break;
	}
}

static int64_t load_int(const void *p, enum configmap_storage st)
{
	switch (st) {
	case CONFIGMAP_ST_S8:
		return *(const int8_t *)p;
	case CONFIGMAP_ST_S16:
		return *(const int16_t *)p;
	case CONFIGMAP_ST_S32:
		return *(const int32_t *)p;
	case CONFIGMAP_ST_S64:
		return *(const int64_t *)p;
	case CONFIGMAP_ST_U8:
		return *(const uint8_t *)p;
	case CONFIGMAP_ST_U16:
		return *(const uint16_t *)p;
	case CONFIGMAP_ST_U32:
		return *(const uint32_t *)p;
	case CONFIGMAP_ST_U64: {
		uint64_t v = *(const uint64_t *)p;

		/* Bounds never exceed INT64_MAX: clamp what does. */
		return v > INT64_MAX ? INT64_MAX : (int64_t)v;
	}
	default:
		return 0;
	}
}

static char **string_slot(void *base, const struct configmap_field *f)
{
	return (char **)member(base, f);
}

static const char *string_get(const void *base, const struct configmap_field *f)
{
	const char *s = *(char *const *)cmember(base, f);

	return s ? s : "";
}

static void str_list_clear(struct configmap_str_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static void int_list_clear(struct configmap_int_list *l)
{
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static void str_map_clear(struct configmap_str_map *mp)
{
	size_t i;

	for (i = 0; i < mp->n; i++) {
		free(mp->names[i]);
		free(mp->values[i]);
	}
	free(mp->names);
	free(mp->values);
	mp->names = NULL;
	mp->values = NULL;
	mp->n = 0;
}

/* Appends @s (copied); when @replace, the new list holds @s alone. */
static int str_list_add(struct configmap_str_list *l, const char *s,
			bool replace)
{
	size_t n = replace ? 0 : l->n;
	char *dup = strdup(s);
	char **items;

	if (!dup)
		return -ENOMEM;
	items = replace ? malloc(sizeof(*items)) :
			  realloc(l->items, (n + 1) * sizeof(*items));
	if (!items) {
		free(dup);
		return -ENOMEM;
	}
	if (replace)
		str_list_clear(l);
	items[n] = dup;
	l->items = items;
	l->n = n + 1;
	return 0;
}

static int int_list_add(struct configmap_int_list *l, int64_t v, bool replace)
{
	size_t n = replace ? 0 : l->n;
	int64_t *items;

	items = replace ? malloc(sizeof(*items)) :
			  realloc(l->items, (n + 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	if (replace)
		int_list_clear(l);
	items[n] = v;
	l->items = items;
	l->n = n + 1;
	return 0;
}

/* Sets entry @name to @value: replaces its value, or appends it; when
 * @replace, the map holds this entry alone. */
static int str_map_put(struct configmap_str_map *mp, const char *name,
		       const char *value, bool replace)
{
	char *dn, *dv = strdup(value), **names = NULL, **values = NULL;
	size_t i, n = replace ? 0 : mp->n;

	if (!dv)
		return -ENOMEM;
	for (i = 0; !replace && i < mp->n; i++) {
		if (!strcmp(mp->names[i], name)) {
			free(mp->values[i]);
			mp->values[i] = dv;
			return 0;
		}
	}
	dn = strdup(name);
	names = malloc((n + 1) * sizeof(*names));
	values = malloc((n + 1) * sizeof(*values));
	if (!dn || !names || !values) {
		free(values);
		free(names);
		free(dn);
		free(dv);
		return -ENOMEM;
	}
	if (n) {
		memcpy(names, mp->names, n * sizeof(*names));
		memcpy(values, mp->values, n * sizeof(*values));
	}
	if (replace) {
		str_map_clear(mp);
	} else {
		free(mp->names);
		free(mp->values);
	}
	names[n] = dn;
	values[n] = dv;
	mp->names = names;
	mp->values = values;
	mp->n = n + 1;
	return 0;
}

/* ---- marks ---------------------------------------------------------- */

static struct configmap_marks *marks(const struct configmap *m, void *base)
{
	return (struct configmap_marks *)((char *)base + m->marks_offset);
}

bool configmap__is_set(const struct configmap *m, const void *base, size_t idx)
{
	const struct configmap_marks *mk =
		(const void *)((const char *)base + m->marks_offset);

	return idx < CONFIGMAP_MAX_KEYS &&
	       (mk->bits[idx / 64] >> (idx % 64)) & 1;
}

static void mark(const struct configmap *m, void *base, size_t idx)
{
	marks(m, base)->bits[idx / 64] |= 1ULL << (idx % 64);
}

/* ---- choices ------------------------------------------------------- */

static bool is_choice(const char *choices, const char *s)
{
	size_t l = strlen(s);
	const char *c = choices;

	while (*c) {
		const char *bar = strchr(c, '|');
		size_t cl = bar ? (size_t)(bar - c) : strlen(c);

		if (cl == l && !strncmp(c, s, l))
			return true;
		if (!bar)
			break;
		c = bar + 1;
	}
	return false;
}

static uint32_t max_len(const struct configmap_field *f)
{
	return f->max_len ? f->max_len : CONFIGMAP_STRING_MAX;
}

static uint32_t max_items(const struct configmap_field *f)
{
	return f->max_items ? f->max_items : CONFIGMAP_ITEMS_MAX;
}

/* ---- lookup ------------------------------------------------------------ */

int configmap__find(const struct tgprof_config_key *keys, size_t nkeys,
		    const char *name)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (!strcmp(keys[i].name, name))
			return i;
	return -1;
}

bool configmap__has_prefix(const struct tgprof_config_key *keys, size_t nkeys,
			   const char *prefix)
{
	size_t i, l = strlen(prefix);

	for (i = 0; i < nkeys; i++)
		if (!strncmp(keys[i].name, prefix, l) && keys[i].name[l] == '.')
			return true;
	return false;
}

/* Edit distance of @a and @b, both at most CONFIGMAP_NAME_MAX long. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[CONFIGMAP_NAME_MAX + 2];

	if (la > CONFIGMAP_NAME_MAX || lb > CONFIGMAP_NAME_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best;

			best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

bool configmap__suggest(const struct tgprof_config_key *keys, size_t nkeys,
			const char *name, char *buf, size_t len)
{
	size_t i, best = SIZE_MAX, limit = strlen(name) >= 10 ? 3 : 2;
	char cand[CONFIGMAP_NAME_MAX + 1];

	/* Candidates are the key names and their dotted parents. */
	for (i = 0; i < nkeys; i++) {
		const char *dot = keys[i].name;

		do {
			size_t l, d;

			dot = strchr(dot, '.');
			l = dot ? (size_t)(dot - keys[i].name) :
				  strlen(keys[i].name);
			if (l >= sizeof(cand))
				break;
			memcpy(cand, keys[i].name, l);
			cand[l] = '\0';
			d = distance(name, cand);
			if (d && d < best && d <= limit) {
				best = d;
				snprintf(buf, len, "%s", cand);
			}
			if (dot)
				dot++;
		} while (dot);
	}
	return best != SIZE_MAX;
}

/* ---- set --------------------------------------------------------------- */

/* The map key of @m that @key names an entry of ("headers.x-token"), and
 * where the entry name starts; -1 if none. */
static int find_map_entry(const struct configmap *m, const char *key,
			  const char **ret_entry)
{
	size_t i;

	for (i = 0; i < m->nkeys; i++) {
		size_t l = strlen(m->keys[i].name);

		if (m->keys[i].type != CONFIGMAP_STRING_MAP)
			continue;
		if (!strncmp(key, m->keys[i].name, l) && key[l] == '.' &&
		    key[l + 1]) {
			*ret_entry = key + l + 1;
			return i;
		}
	}
	return -1;
}

/* Parses @value as one scalar of key @k; the number goes to *ret. */
static int parse_number(const struct tgprof_config_key *k,
			const struct configmap_field *f, const char *value,
			int64_t *ret, char *err, size_t errlen)
{
	char want[256], got[CONFIGMAP_QUOTE_BUF];
	uint64_t u = 0;
	int64_t v = 0;
	int ret_err;

	switch ((int)k->type) {
	case TGPROF_CONFIG_DURATION:
		ret_err = configmap__parse_duration(value, &u);
		v = u;
		break;
	case TGPROF_CONFIG_SIZE:
		ret_err = configmap__parse_size(value, &u);
		v = u;
		break;
	default:
		ret_err = configmap__parse_int(value, &v);
		break;
	}
	if (!ret_err && (v < k->min || v > k->max))
		ret_err = -ERANGE;
	if (ret_err) {
		configmap__expected_text(k, f, want, sizeof(want));
		configmap__quote(value, got, sizeof(got));
		errf(err, errlen, "expected %s, got %s", want, got);
		return ret_err;
	}
	*ret = v;
	return 0;
}

/* Checks @value as a string of key @k (length, choices). */
static int check_string(const struct tgprof_config_key *k,
			const struct configmap_field *f, const char *value,
			char *err, size_t errlen)
{
	char want[256], got[CONFIGMAP_QUOTE_BUF];
	size_t l = strlen(value);

	if (l > max_len(f)) {
		errf(err, errlen, "expected at most %u bytes, got %zu",
		     max_len(f), l);
		return -ERANGE;
	}
	if (f->choices && !is_choice(f->choices, value)) {
		configmap__expected_text(k, f, want, sizeof(want));
		configmap__quote(value, got, sizeof(got));
		errf(err, errlen, "expected %s, got %s", want, got);
		return -EINVAL;
	}
	return 0;
}

/* Sets key @idx (map entry @entry) from @value. @first: the key was not
 * set yet, so a list or map replaces what it holds. */
static int set_idx(const struct configmap *m, void *base, size_t idx,
		   const char *entry, const char *value, bool first, char *err,
		   size_t errlen)
{
	const struct tgprof_config_key *k = &m->keys[idx];
	const struct configmap_field *f = &m->fields[idx];
	void *p = member(base, f);
	char want[256];
	int64_t v;
	bool b;
	int ret;

	if (!value) {
		switch ((int)k->type) {
		case TGPROF_CONFIG_STRING_LIST:
			str_list_clear(p);
			return 0;
		case TGPROF_CONFIG_INT_LIST:
			int_list_clear(p);
			return 0;
		case CONFIGMAP_STRING_MAP:
			str_map_clear(p);
			return 0;
		}
		configmap__expected_text(k, f, want, sizeof(want));
		errf(err, errlen, "expected %s, got null", want);
		return -EINVAL;
	}

	switch ((int)k->type) {
	case TGPROF_CONFIG_BOOL:
		if (configmap__parse_bool(value, &b)) {
			char got[CONFIGMAP_QUOTE_BUF];

			configmap__quote(value, got, sizeof(got));
			errf(err, errlen, "expected true or false, got %s",
			     got);
			return -EINVAL;
		}
		*(bool *)p = b;
		return 0;
	case TGPROF_CONFIG_INT:
	case TGPROF_CONFIG_DURATION:
	case TGPROF_CONFIG_SIZE:
		ret = parse_number(k, f, value, &v, err, errlen);
		if (ret)
			return ret;
		store_int(p, f->storage, v);
		return 0;
	case TGPROF_CONFIG_STRING: {
		char *dup;

		ret = check_string(k, f, value, err, errlen);
		if (ret)
			return ret;
		dup = strdup(value);
		if (!dup)
			goto enomem;
		free(*string_slot(base, f));
		*string_slot(base, f) = dup;
		return 0;
	}
	case TGPROF_CONFIG_STRING_LIST: {
		struct configmap_str_list *l = p;

		if (!first && l->n >= max_items(f))
			goto too_many;
		ret = check_string(k, f, value, err, errlen);
		if (ret)
			return ret;
		if (str_list_add(l, value, first))
			goto enomem;
		return 0;
	}
	case TGPROF_CONFIG_INT_LIST: {
		struct configmap_int_list *l = p;

		if (!first && l->n >= max_items(f))
			goto too_many;
		ret = parse_number(k, f, value, &v, err, errlen);
		if (ret)
			return ret;
		if (int_list_add(l, v, first))
			goto enomem;
		return 0;
	}
	case CONFIGMAP_STRING_MAP: {
		struct configmap_str_map *mp = p;
		size_t i;
		bool known = false;

		for (i = 0; !first && i < mp->n; i++)
			known |= !strcmp(mp->names[i], entry);
		if (!first && !known && mp->n >= max_items(f)) {
			errf(err, errlen, "expected at most %u entries",
			     max_items(f));
			return -ERANGE;
		}
		ret = check_string(k, f, value, err, errlen);
		if (ret)
			return ret;
		if (str_map_put(mp, entry, value, first))
			goto enomem;
		return 0;
	}
	}
	errf(err, errlen, "key of an unknown type");
	return -EINVAL;

too_many:
	errf(err, errlen, "expected at most %u elements", max_items(f));
	return -ERANGE;
enomem:
	errf(err, errlen, "out of memory");
	return -ENOMEM;
}

int configmap__set(const struct configmap *m, void *base, const char *key,
		   const char *value, char *err, size_t errlen)
{
	char near[CONFIGMAP_NAME_MAX + 1];
	const char *entry = NULL;
	int idx, ret;

	idx = configmap__find(m->keys, m->nkeys, key);
	if (idx >= 0 && m->keys[idx].type == CONFIGMAP_STRING_MAP) {
		errf(err, errlen, "expected a mapping of names to strings");
		return -EINVAL;
	}
	if (idx < 0)
		idx = find_map_entry(m, key, &entry);
	if (idx < 0 || (size_t)idx >= CONFIGMAP_MAX_KEYS) {
		if (configmap__suggest(m->keys, m->nkeys, key, near,
				       sizeof(near)))
			errf(err, errlen, "unknown key (did you mean %s?)",
			     near);
		else
			errf(err, errlen, "unknown key");
		return -ENOENT;
	}
	if (entry && strlen(entry) > CONFIGMAP_NAME_MAX) {
		errf(err, errlen, "expected a name of at most %d bytes",
		     CONFIGMAP_NAME_MAX);
		return -ERANGE;
	}
	ret = set_idx(m, base, idx, entry, value,
		      !configmap__is_set(m, base, idx), err, errlen);
	if (!ret)
		mark(m, base, idx);
	return ret;
}

/* ---- defaults ------------------------------------------------------- */

/* Applies a list default, "[a, b]" with plain elements. */
static int init_list(const struct configmap *m, void *base, size_t idx,
		     char *err, size_t errlen)
{
	const char *def = m->keys[idx].default_value, *p;
	char elem[CONFIGMAP_NAME_MAX + 1];
	bool first = true;
	size_t l;
	int ret;

	l = strlen(def);
	if (l < 2 || def[0] != '[' || def[l - 1] != ']')
		goto bad;
	p = def + 1;
	while (*p == ' ')
		p++;
	if (*p == ']')
		return 0;
	for (;;) {
		const char *end = p + strcspn(p, ",]");
		size_t el = end - p;

		while (el && p[el - 1] == ' ')
			el--;
		if (!*end || !el || el >= sizeof(elem))
			goto bad;
		memcpy(elem, p, el);
		elem[el] = '\0';
		ret = set_idx(m, base, idx, NULL, elem, first, err, errlen);
		if (ret)
			return ret;
		first = false;
		if (*end == ']')
			return end[1] ? -EINVAL : 0;
		p = end + 1;
		while (*p == ' ')
			p++;
	}
bad:
	errf(err, errlen, "default %s is not a flow list like [a, b]", def);
	return -EINVAL;
}

/* Zeroes the owned members (strings, lists, maps) of @base without freeing
 * them: before configmap__init() fills them, and in a copy whose members
 * still point into its source, so that a failure half way leaves nothing
 * shared. */
static void zero_owned(const struct configmap *m, void *base)
{
	size_t i;

	for (i = 0; i < m->nkeys; i++) {
		const struct configmap_field *f = &m->fields[i];
		void *p = member(base, f);

		switch (f->storage) {
		case CONFIGMAP_ST_STRING:
			*string_slot(base, f) = NULL;
			break;
		case CONFIGMAP_ST_STR_LIST:
			memset(p, 0, sizeof(struct configmap_str_list));
			break;
		case CONFIGMAP_ST_INT_LIST:
			memset(p, 0, sizeof(struct configmap_int_list));
			break;
		case CONFIGMAP_ST_STR_MAP:
			memset(p, 0, sizeof(struct configmap_str_map));
			break;
		default:
			break;
		}
	}
}

int configmap__init(const struct configmap *m, void *base, char *err,
		    size_t errlen)
{
	size_t i;
	int ret;

	zero_owned(m, base);
	memset(marks(m, base), 0, sizeof(struct configmap_marks));

	for (i = 0; i < m->nkeys; i++) {
		const struct tgprof_config_key *k = &m->keys[i];
		const char *def = k->default_value;

		if (!def)
			def = k->type == TGPROF_CONFIG_STRING ? "" : NULL;
		if (!def)
			continue;
		switch ((int)k->type) {
		case TGPROF_CONFIG_STRING_LIST:
		case TGPROF_CONFIG_INT_LIST:
			ret = init_list(m, base, i, err, errlen);
			break;
		case CONFIGMAP_STRING_MAP:
			ret = strcmp(def, "{}") ? -EINVAL : 0;
			if (ret)
				errf(err, errlen,
				     "default of a map must be {}");
			break;
		default:
			ret = set_idx(m, base, i, NULL, def, true, err, errlen);
			break;
		}
		if (ret) {
			if (ret != -ENOMEM) {
				char msg[CONFIGMAP_ERR_MAX];

				snprintf(msg, sizeof(msg), "%s",
					 err ? err : "");
				errf(err, errlen, "%s: bad default: %s",
				     k->name, msg);
				ret = -EINVAL;
			}
			return ret;
		}
	}
	/* Strings that are required have no default: empty, never NULL. */
	for (i = 0; i < m->nkeys; i++) {
		const struct configmap_field *f = &m->fields[i];

		if (f->storage == CONFIGMAP_ST_STRING &&
		    !*string_slot(base, f)) {
			*string_slot(base, f) = strdup("");
			if (!*string_slot(base, f))
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- validate ------------------------------------------------------- */

static size_t problem(configmap_report_fn report, void *ctx, const char *key,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t problem(configmap_report_fn report, void *ctx, const char *key,
		      const char *fmt, ...)
{
	char msg[CONFIGMAP_ERR_MAX * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (report)
		report(ctx, key, msg);
	return 1;
}

static size_t validate_number(const struct tgprof_config_key *k,
			      const struct configmap_field *f, const char *key,
			      int64_t v, configmap_report_fn report, void *ctx)
{
	char want[256], got[32];

	if (v >= k->min && v <= k->max)
		return 0;
	configmap__expected_text(k, f, want, sizeof(want));
	configmap__format_value(k->type, v, got, sizeof(got));
	return problem(report, ctx, key, "expected %s, got %s", want, got);
}

static size_t validate_string(const struct tgprof_config_key *k,
			      const struct configmap_field *f, const char *key,
			      const char *s, configmap_report_fn report,
			      void *ctx)
{
	char msg[CONFIGMAP_ERR_MAX];

	if (!check_string(k, f, s, msg, sizeof(msg)))
		return 0;
	return problem(report, ctx, key, "%s", msg);
}

/* The number of elements of a list: between min_items and max_items(). */
static size_t validate_count(const struct tgprof_config_key *k,
			     const struct configmap_field *f, size_t count,
			     configmap_report_fn report, void *ctx)
{
	size_t n = 0;

	if (count > max_items(f))
		n += problem(report, ctx, k->name,
			     "expected at most %u elements, got %zu",
			     max_items(f), count);
	if (count < f->min_items)
		n += problem(report, ctx, k->name,
			     "expected at least %u element%s", f->min_items,
			     f->min_items == 1 ? "" : "s");
	return n;
}

size_t configmap__validate(const struct configmap *m, const void *base,
			   configmap_report_fn report, void *ctx)
{
	char key[CONFIGMAP_NAME_MAX + 32];
	size_t i, j, n = 0;

	for (i = 0; i < m->nkeys; i++) {
		const struct tgprof_config_key *k = &m->keys[i];
		const struct configmap_field *f = &m->fields[i];
		const void *p = cmember(base, f);

		if ((k->flags & TGPROF_CONFIG_REQUIRED) &&
		    !configmap__is_set(m, base, i)) {
			n += problem(report, ctx, k->name,
				     "required key is missing");
			continue;
		}
		switch ((int)k->type) {
		case TGPROF_CONFIG_INT:
		case TGPROF_CONFIG_DURATION:
		case TGPROF_CONFIG_SIZE:
			n += validate_number(k, f, k->name,
					     load_int(p, f->storage), report,
					     ctx);
			break;
		case TGPROF_CONFIG_STRING:
			n += validate_string(k, f, k->name, string_get(base, f),
					     report, ctx);
			break;
		case TGPROF_CONFIG_STRING_LIST: {
			const struct configmap_str_list *l = p;

			n += validate_count(k, f, l->n, report, ctx);
			for (j = 0; j < l->n; j++) {
				snprintf(key, sizeof(key), "%s[%zu]", k->name,
					 j);
				n += validate_string(k, f, key, l->items[j],
						     report, ctx);
			}
			break;
		}
		case TGPROF_CONFIG_INT_LIST: {
			const struct configmap_int_list *l = p;

			n += validate_count(k, f, l->n, report, ctx);
			for (j = 0; j < l->n; j++) {
				snprintf(key, sizeof(key), "%s[%zu]", k->name,
					 j);
				n += validate_number(k, f, key, l->items[j],
						     report, ctx);
			}
			break;
		}
		case CONFIGMAP_STRING_MAP: {
			const struct configmap_str_map *mp = p;

			if (mp->n > max_items(f))
				n += problem(
					report, ctx, k->name,
					"expected at most %u entries, got %zu",
					max_items(f), mp->n);
			for (j = 0; j < mp->n; j++) {
				snprintf(key, sizeof(key), "%s.%s", k->name,
					 mp->names[j]);
				n += validate_string(k, f, key, mp->values[j],
						     report, ctx);
			}
			break;
		}
		}
	}
	return n;
}

/* ---- copy and release -------------------------------------------------- */

void configmap__release(const struct configmap *m, void *base)
{
	size_t i;

	if (!m || !base)
		return;
	for (i = 0; i < m->nkeys; i++) {
		const struct configmap_field *f = &m->fields[i];
		void *p = member(base, f);

		switch (f->storage) {
		case CONFIGMAP_ST_STRING:
			free(*string_slot(base, f));
			*string_slot(base, f) = NULL;
			break;
		case CONFIGMAP_ST_STR_LIST:
			str_list_clear(p);
			break;
		case CONFIGMAP_ST_INT_LIST:
			int_list_clear(p);
			break;
		case CONFIGMAP_ST_STR_MAP:
			str_map_clear(p);
			break;
		default:
			break;
		}
	}
}

int configmap__copy(const struct configmap *m, void *dst, const void *src)
{
	size_t i, j;

	zero_owned(m, dst);
	for (i = 0; i < m->nkeys; i++) {
		const struct configmap_field *f = &m->fields[i];
		const void *sp = cmember(src, f);
		void *dp = member(dst, f);

		switch (f->storage) {
		case CONFIGMAP_ST_STRING:
			*string_slot(dst, f) = strdup(string_get(src, f));
			if (!*string_slot(dst, f))
				goto err;
			break;
		case CONFIGMAP_ST_STR_LIST: {
			const struct configmap_str_list *sl = sp;

			for (j = 0; j < sl->n; j++)
				if (str_list_add(dp, sl->items[j], false))
					goto err;
			break;
		}
		case CONFIGMAP_ST_INT_LIST: {
			const struct configmap_int_list *sl = sp;

			for (j = 0; j < sl->n; j++)
				if (int_list_add(dp, sl->items[j], false))
					goto err;
			break;
		}
		case CONFIGMAP_ST_STR_MAP: {
			const struct configmap_str_map *sm = sp;

			for (j = 0; j < sm->n; j++)
				if (str_map_put(dp, sm->names[j], sm->values[j],
						false))
					goto err;
			break;
		}
		default:
			break;
		}
	}
	return 0;
err:
	configmap__release(m, dst);
	return -ENOMEM;
}

/* ---- table self-check -------------------------------------------------- */

static bool storage_fits(enum tgprof_config_type type,
			 enum configmap_storage st)
{
	switch ((int)type) {
	case TGPROF_CONFIG_BOOL:
		return st == CONFIGMAP_ST_BOOL;
	case TGPROF_CONFIG_INT:
	case TGPROF_CONFIG_DURATION:
	case TGPROF_CONFIG_SIZE:
		return storage_is_int(st);
	case TGPROF_CONFIG_STRING:
		return st == CONFIGMAP_ST_STRING;
	case TGPROF_CONFIG_STRING_LIST:
		return st == CONFIGMAP_ST_STR_LIST;
	case TGPROF_CONFIG_INT_LIST:
		return st == CONFIGMAP_ST_INT_LIST;
	case CONFIGMAP_STRING_MAP:
		return st == CONFIGMAP_ST_STR_MAP;
	}
	return false;
}

/* Whether @name lies below the first @l bytes of @parent. */
static bool below(const char *name, const char *parent, size_t l)
{
	return !strncmp(name, parent, l) && name[l] == '.';
}

static bool earlier_below(const struct configmap *m, size_t before,
			  const char *parent, size_t l)
{
	size_t j;

	for (j = 0; j < before; j++)
		if (below(m->keys[j].name, parent, l))
			return true;
	return false;
}

/* [a-z0-9_]+ joined by single dots. */
static bool good_name(const char *name)
{
	const char *p;

	if (*name == '.')
		return false;
	for (p = name; *p; p++) {
		if (*p == '.' && (p[1] == '.' || !p[1]))
			return false;
		if (*p != '.' && *p != '_' && !islower((unsigned char)*p) &&
		    !isdigit((unsigned char)*p))
			return false;
	}
	return true;
}

size_t configmap__check(const struct configmap *m, configmap_report_fn report,
			void *ctx)
{
	size_t i, j, n = 0;

	if (m->nkeys > CONFIGMAP_MAX_KEYS)
		n += problem(report, ctx, "", "more than %d keys",
			     CONFIGMAP_MAX_KEYS);
	for (i = 0; i < m->nkeys && i < CONFIGMAP_MAX_KEYS; i++) {
		const struct tgprof_config_key *k = &m->keys[i];
		const struct configmap_field *f = &m->fields[i];
		int64_t lo, hi;

		if (!k->name || !*k->name ||
		    strlen(k->name) > CONFIGMAP_NAME_MAX) {
			n += problem(report, ctx, "", "key %zu has a bad name",
				     i);
			continue;
		}
		if (!k->description || !*k->description)
			n += problem(report, ctx, k->name, "no description");
		if (!storage_fits(k->type, f->storage))
			n += problem(report, ctx, k->name,
				     "member does not fit type %s",
				     configmap__type_name(k->type));
		storage_range(f->storage, &lo, &hi);
		if (configmap__has_bounds(k) &&
		    k->type != TGPROF_CONFIG_INT_LIST &&
		    (k->min < lo || k->max > hi || k->min > k->max))
			n += problem(report, ctx, k->name,
				     "bounds do not fit the member");
		if (!k->default_value && !(k->flags & TGPROF_CONFIG_REQUIRED))
			n += problem(report, ctx, k->name,
				     "no default, yet not required");
		if ((k->flags & TGPROF_CONFIG_REQUIRED) && k->default_value)
			n += problem(report, ctx, k->name,
				     "required, yet has a default");
		for (j = 0; j < i; j++) {
			const char *a = m->keys[j].name, *b = k->name;
			size_t la = strlen(a), lb = strlen(b);

			if (!strcmp(a, b))
				n += problem(report, ctx, b, "declared twice");
			else if ((la < lb && !strncmp(a, b, la) &&
				  b[la] == '.') ||
				 (lb < la && !strncmp(a, b, lb) &&
				  a[lb] == '.'))
				n += problem(report, ctx, b,
					     "both a key and a parent of keys");
		}
		if (!good_name(k->name))
			n += problem(report, ctx, k->name,
				     "not lowercase words joined by dots");
		/* Keys below one parent come together, so YAML nests once. */
		for (j = 0; i > 0 && k->name[j]; j++) {
			if (k->name[j] == '.' &&
			    !below(m->keys[i - 1].name, k->name, j) &&
			    earlier_below(m, i - 1, k->name, j)) {
				n += problem(
					report, ctx, k->name,
					"not next to the other keys below its parent");
				break;
			}
		}
	}
	if (!n && m->nkeys <= CONFIGMAP_MAX_KEYS) {
		/* The defaults parse: build a struct of zeros and fill it. */
		size_t sz = m->marks_offset + sizeof(struct configmap_marks);
		char err[CONFIGMAP_ERR_MAX];
		void *base;

		for (i = 0; i < m->nkeys; i++)
			if (m->fields[i].offset + 64 > sz)
				sz = m->fields[i].offset + 64;
		base = calloc(1, sz);
		if (!base)
			return n + problem(report, ctx, "", "out of memory");
		if (configmap__init(m, base, err, sizeof(err)))
			n += problem(report, ctx, "", "%s", err);
		configmap__release(m, base);
		free(base);
	}
	return n;
}
