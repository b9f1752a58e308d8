// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* floor -- CMD [ARGS]: run CMD with the counting-only programs attached; prints the hit count. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "floor.skel.h"

int main(int argc, char **argv)
{
	struct floor_bpf *skel;
	int status = 1, ncpus = libbpf_num_possible_cpus(), err;
	__u64 *hits, total = 0;
	__u32 zero = 0;
	pid_t pid;

	if (argc < 3 || ncpus <= 0) {
		fprintf(stderr, "usage: floor -- CMD [ARGS]\n");
		return 2;
	}
	skel = floor_bpf__open_and_load();
	if (!skel || floor_bpf__attach(skel)) {
		fprintf(stderr, "floor: cannot load or attach (run as root)\n");
		floor_bpf__destroy(skel);
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	hits = calloc(ncpus, sizeof(*hits));
	err = hits ? bpf_map__lookup_elem(skel->maps.hits, &zero, sizeof(zero), hits,
					  ncpus * sizeof(*hits), 0)
		   : -1;
	for (int i = 0; !err && i < ncpus; i++)
		total += hits[i];
	fprintf(stderr, "floor: %llu hits\n", (unsigned long long)total);
	free(hits);
	floor_bpf__destroy(skel);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
