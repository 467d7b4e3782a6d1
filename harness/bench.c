/* bench.c: (in progress) */
