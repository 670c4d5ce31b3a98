/* SPDX-License-Identifier: Apache-2.0 */
/* Config tables out as text (configmap_print.c): YAML with every key's
 * default and description, and key tables as text or Markdown; what
 * `tgprof config --defaults` and `--keys` print and docs/CONFIG.md holds. */
#ifndef TGPROF_LIB_CONFIGMAP_PRINT_H
#define TGPROF_LIB_CONFIGMAP_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/configmap.h"

/*
 * Writes @keys as a YAML block mapping at @indent spaces, each key with
 * its default (a required key with its example, else "") and its
 * description as a comment above it; dotted names nest. @fields may be
 * NULL (a plugin's table). The keys of one nested mapping must be
 * contiguous (configmap__check() says so). 0 or -EIO.
 */
int configmap__print_yaml(FILE *f, const struct tgprof_config_key *keys,
			  const struct configmap_field *fields, size_t nkeys,
			  int indent);

/*
 * Writes one row per key: name, type, default, bounds, description; as
 * aligned text, or as a Markdown table when @markdown. @fields may be
 * NULL. 0 or -EIO.
 */
int configmap__print_keys(FILE *f, const struct tgprof_config_key *keys,
			  const struct configmap_field *fields, size_t nkeys,
			  bool markdown);

/* Writes @s as a YAML scalar: plain when that reads back as the same
 * string, double-quoted otherwise. */
void configmap__yaml_scalar(FILE *f, const char *s);

#endif
