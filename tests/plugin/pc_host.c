// SPDX-License-Identifier: Apache-2.0
/* The smallest host built the way tgprof-receiver.pc says: linked with
 * -ltgprof_receiver, it asks the entry for the descriptor and prints
 * "NAME VERSION ABI_MAJOR.ABI_MINOR KEYS". */
#include <stdio.h>

#include <tgprof/receiver.h>

int main(void)
{
	const struct tgprof_plugin *p =
		tgprof_receiver_plugin(TGPROF_ABI_MAJOR);

	if (!p || p->sz < sizeof(*p))
		return 1;
	printf("%s %s %u.%u %zu\n", p->name, p->version, p->abi_major,
	       p->abi_minor, p->config_nkeys);
	return tgprof_receiver_plugin(TGPROF_ABI_MAJOR + 1) ? 1 : 0;
}
