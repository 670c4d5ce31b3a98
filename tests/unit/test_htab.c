// SPDX-License-Identifier: Apache-2.0
/* Guards lib/htab.c, the hash table behind the process table, the symbol
 * cache, the profile builder and the DWARF file names: nodes are found by
 * hash and key, removal unlinks, and a caller with a memory budget learns
 * before an insert what the bucket array will take after it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/htab.h"

struct item {
	struct htab_node node;
	char name[16];
};

static struct item *find(struct htab *h, const char *name)
{
	struct htab_node *pos;
	struct item *it;

	htab_for_each(h, pos, hash_str(name)) {
		it = container_of(pos, struct item, node);
		if (!strcmp(it->name, name))
			return it;
	}
	return NULL;
}

Test(htab, nodes_are_found_by_key_and_removed)
{
	static struct item items[300];
	struct htab h = HTAB_INIT;
	int i;

	for (i = 0; i < 300; i++) {
		snprintf(items[i].name, sizeof(items[i].name), "file-%d.c", i);
		cr_assert_eq(htab__insert(&h, &items[i].node,
					  hash_str(items[i].name)),
			     0);
	}
	cr_assert_eq(h.count, 300);
	for (i = 0; i < 300; i++)
		cr_assert_eq(find(&h, items[i].name), &items[i]);
	cr_assert_null(find(&h, "file-300.c"));
	htab__remove(&h, &items[7].node);
	cr_assert_null(find(&h, "file-7.c"));
	cr_assert_eq(find(&h, "file-8.c"), &items[8]);
	cr_assert_eq(h.count, 299);
	htab__free(&h);
	htab__free(NULL);
}

Test(htab, bytes_after_insert_is_what_the_next_insert_leaves)
{
	static struct item items[1000];
	struct htab h = HTAB_INIT;
	size_t after;
	int i, grew = 0;

	cr_assert_eq(htab__bytes(&h), 0);
	for (i = 0; i < 1000; i++) {
		after = htab__bytes_after_insert(&h);
		cr_assert_geq(after, htab__bytes(&h));
		if (after > htab__bytes(&h))
			grew++;
		cr_assert_eq(htab__insert(&h, &items[i].node, hash_u64(i)), 0);
		cr_assert_eq(htab__bytes(&h), after, "insert %d", i);
		cr_assert_eq(htab__bytes(&h), h.nbuckets * sizeof(*h.buckets));
	}
	/* 64, 128, ... 1024 buckets: it grew, and not at every insert. */
	cr_assert_eq(grew, 5);
	/* Cleared, the bucket array stays for the next inserts. */
	after = htab__bytes(&h);
	htab__clear(&h);
	cr_assert_eq(htab__bytes(&h), after);
	cr_assert_eq(htab__bytes_after_insert(&h), after);
	htab__free(&h);
	cr_assert_eq(htab__bytes(&h), 0);
}
