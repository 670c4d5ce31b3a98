/* SPDX-License-Identifier: Apache-2.0 */
/* A YAML document as a small tree of scalars, sequences and mappings, each
 * with its line and column, read through libyaml's event parser so that
 * every limit holds while reading: bytes, depth, nodes, keys per mapping,
 * anchors. Duplicate keys are errors; aliases share the anchored node.
 *
 * Why not libyaml's own loader (yaml_parser_load), which keeps marks too:
 * it builds the whole document before anything can be checked, with no
 * bound on depth or nodes (a 600 KB file of nested "[" took libyaml 0.2.5
 * ten minutes and 83 MB here; this tree refuses it at level 33 at once);
 * it registers an anchor before its contents, so "&a [*a]" becomes a
 * cycle; and it keeps neither anchors nor where an alias stood, so the
 * anchor bound and the messages about aliases could not be kept. */
#ifndef TGPROF_CMD_CONFIG_YAMLTREE_H
#define TGPROF_CMD_CONFIG_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define YTREE_MAX_BYTES (1u << 20) /* a config file */
#define YTREE_MAX_DEPTH 32 /* nested collections */
#define YTREE_MAX_NODES 65536
#define YTREE_MAX_MAP_KEYS 1024 /* in one mapping */
#define YTREE_MAX_ANCHORS 256

enum ynode_kind {
	YNODE_SCALAR = 1,
	YNODE_SEQ,
	YNODE_MAP,
};

struct ynode {
	enum ynode_kind kind;
	uint32_t line; /* 1-based, where the node starts */
	uint32_t col; /* 1-based */
	/* SCALAR: the text (NUL-terminated, no NUL inside) and whether it
	 * was written plain (unquoted): only plain "", "~" and "null" are
	 * null. */
	char *text;
	bool plain;
	/* SEQ: the elements. MAP: key, value, key, value, ... */
	struct ynode **items;
	size_t n;
	size_t cap;
};

struct ytree {
	struct ynode *root; /* NULL for an empty document */
	struct ynode **nodes; /* every node, for freeing */
	size_t nnodes;
	size_t cap;
};

struct ytree_error {
	uint32_t line; /* 0: no position */
	uint32_t col;
	char msg[384];
};

/*
 * Parses @len bytes of @buf (one YAML document; an empty one gives a NULL
 * root). Returns 0 and the tree (caller frees with ytree__free()), or
 * -EINVAL with the first problem in @err: a YAML syntax error, a limit
 * passed, a duplicate key ("KEY.PATH: duplicate key (first at L:C)"), an
 * unknown alias, or more than one document. -ENOMEM, -EFBIG (@len above
 * YTREE_MAX_BYTES) likewise.
 */
int ytree__parse(const char *buf, size_t len, struct ytree **ret,
		 struct ytree_error *err);

/* Accepts NULL. */
void ytree__free(struct ytree *t);

/* Whether @n is YAML's null: a plain "", "~", "null", "Null" or "NULL". */
bool ynode__is_null(const struct ynode *n);

/* The value of key @name in mapping @m (borrowed from its tree), or NULL:
 * also when @m is NULL or not a mapping, so lookups chain. */
const struct ynode *ynode__get(const struct ynode *m, const char *name);

/* "a scalar", "a list", "a mapping". */
const char *ynode__kind_name(const struct ynode *n);

#endif
