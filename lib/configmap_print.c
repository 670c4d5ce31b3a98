// SPDX-License-Identifier: Apache-2.0
/* Config tables out as text: the YAML defaults of `tgprof config
 * --defaults` (every key with its description as a comment), and the key
 * tables of `tgprof config --keys`, as aligned text or Markdown
 * (docs/CONFIG.md). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/configmap_print.h"

/* Whether @s reads back from a plain YAML scalar as the same string. */
static bool plain_safe(const char *s)
{
	static const char *const special[] = {
		"true", "false", "yes", "no",	"on",	 "off",	 "y",
		"n",	"null",	 "~",	".inf", "-.inf", ".nan", "<<",
	};
	const char *p;
	char *end;
	size_t i;

	if (!*s || !(isalnum((unsigned char)*s) || strchr("_/.", *s)) ||
	    s[strlen(s) - 1] == ':')
		return false;
	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_./:+@-", *p))
			return false;
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (!strcasecmp(s, special[i]))
			return false;
	strtod(s, &end);
	return *end != '\0';
}

void configmap__yaml_scalar(FILE *f, const char *s)
{
	const unsigned char *p;

	if (plain_safe(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* The text a key is printed with in YAML. */
static void print_value(FILE *f, const struct tgprof_config_key *k,
			const struct configmap_field *fl)
{
	const char *v = k->default_value;

	if (!v && fl && fl->example)
		v = fl->example;
	if (!v)
		v = "";
	if (k->type == TGPROF_CONFIG_STRING)
		configmap__yaml_scalar(f, v);
	else
		fputs(v, f);
}

int configmap__print_yaml(FILE *f, const struct tgprof_config_key *keys,
			  const struct configmap_field *fields, size_t nkeys,
			  int indent)
{
	const char *prev = "";
	size_t i;

	for (i = 0; i < nkeys; i++) {
		const char *name = keys[i].name, *seg = name, *dot;
		size_t common = 0, depth = 0;

		/* How many parent segments this key shares with the last. */
		for (;;) {
			size_t l;

			dot = strchr(seg, '.');
			if (!dot)
				break;
			l = dot - name;
			if (strncmp(prev, name, l) || prev[l] != '.')
				break;
			common++;
			seg = dot + 1;
		}
		depth = common;
		while ((dot = strchr(seg, '.'))) {
			fprintf(f, "%*s%.*s:\n", indent + 2 * (int)depth, "",
				(int)(dot - seg), seg);
			depth++;
			seg = dot + 1;
		}
		fprintf(f, "%*s# %s%s\n", indent + 2 * (int)depth, "",
			keys[i].flags & TGPROF_CONFIG_REQUIRED ? "Required. " :
								 "",
			keys[i].description);
		fprintf(f, "%*s%s: ", indent + 2 * (int)depth, "", seg);
		print_value(f, &keys[i], fields ? &fields[i] : NULL);
		fputc('\n', f);
		prev = name;
	}
	return ferror(f) ? -EIO : 0;
}

/* The default column: "required", "" for an empty string, else as YAML. */
static void default_text(const struct tgprof_config_key *k, char *buf,
			 size_t len)
{
	if (!k->default_value)
		snprintf(buf, len, "required");
	else if (k->type == TGPROF_CONFIG_STRING && !*k->default_value)
		snprintf(buf, len, "\"\"");
	else
		snprintf(buf, len, "%s", k->default_value);
}

/* Writes @s with Markdown table cell separators escaped. */
static void md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else
			fputc(*s, f);
	}
}

int configmap__print_keys(FILE *f, const struct tgprof_config_key *keys,
			  const struct configmap_field *fields, size_t nkeys,
			  bool markdown)
{
	int wname = 3, wtype = 4, wdef = 7, wbounds = 6;
	char def[256], bounds[256];
	size_t i;

	if (markdown) {
		fputs("| key | type | default | bounds | description |\n"
		      "| --- | --- | --- | --- | --- |\n",
		      f);
		for (i = 0; i < nkeys; i++) {
			default_text(&keys[i], def, sizeof(def));
			configmap__bounds_text(&keys[i],
					       fields ? &fields[i] : NULL,
					       bounds, sizeof(bounds));
			fputs("| `", f);
			md_cell(f, keys[i].name);
			fprintf(f, "` | %s | ",
				configmap__type_name(keys[i].type));
			if (keys[i].default_value) {
				fputc('`', f);
				md_cell(f, def);
				fputc('`', f);
			} else {
				fputs(def, f);
			}
			fputs(" | ", f);
			md_cell(f, bounds);
			fputs(" | ", f);
			md_cell(f, keys[i].description);
			fputs(" |\n", f);
		}
		return ferror(f) ? -EIO : 0;
	}

	for (i = 0; i < nkeys; i++) {
		int l;

		default_text(&keys[i], def, sizeof(def));
		configmap__bounds_text(&keys[i], fields ? &fields[i] : NULL,
				       bounds, sizeof(bounds));
		l = strlen(keys[i].name);
		wname = l > wname ? l : wname;
		l = strlen(configmap__type_name(keys[i].type));
		wtype = l > wtype ? l : wtype;
		l = strlen(def);
		wdef = l > wdef ? l : wdef;
		l = strlen(bounds);
		wbounds = l > wbounds ? l : wbounds;
	}
	fprintf(f, "%-*s  %-*s  %-*s  %-*s  %s\n", wname, "key", wtype, "type",
		wdef, "default", wbounds, "bounds", "description");
	for (i = 0; i < nkeys; i++) {
		default_text(&keys[i], def, sizeof(def));
		configmap__bounds_text(&keys[i], fields ? &fields[i] : NULL,
				       bounds, sizeof(bounds));
		fprintf(f, "%-*s  %-*s  %-*s  %-*s  %s\n", wname, keys[i].name,
			wtype, configmap__type_name(keys[i].type), wdef, def,
			wbounds, bounds, keys[i].description);
	}
	return ferror(f) ? -EIO : 0;
}
